#!/usr/bin/env node
// Validates every YAML document under the given files or directories:
// Kubernetes kinds against the API schemas of the npm package
// kubernetes-models (offline), Karpenter's NodePool and EC2NodeClass (CRDs,
// not in kubernetes-models) against the small structural schemas below,
// other CRDs and the config files carve puts in ConfigMaps (the device
// plugin's) against the schemas in schemas/.
// Exit 0 when every document is valid; otherwise one line per error.
// Usage: node validate.js PATH... [--expect-invalid]
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const Ajv = require("ajv").default;

function modelFor(apiVersion, kind) {
  try {  // kubernetes-models/apps/v1/Deployment, kubernetes-models/v1/Service
    return require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
  } catch {
    return null;
  }
}

// Karpenter v1, the fields carve writes (required) and their types.
const str = { type: "string", minLength: 1 };
const strList = { type: "array", items: str, minItems: 1 };
const requirement = { type: "object", required: ["key", "operator", "values"], additionalProperties: false,
  properties: { key: str, operator: { enum: ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] }, values: strList } };
const selectorTerms = { type: "array", minItems: 1, items: { type: "object", properties: { tags: { type: "object" }, id: str, alias: str } } };
const karpenter = {
  "karpenter.sh/v1/NodePool": { type: "object", required: ["apiVersion", "kind", "metadata", "spec"], properties: {
    metadata: { type: "object", required: ["name"] },
    spec: { type: "object", required: ["template"], additionalProperties: false, properties: {
      template: { type: "object", required: ["spec"], additionalProperties: false, properties: {
        metadata: { type: "object", additionalProperties: false, properties: { labels: { type: "object", additionalProperties: { type: "string" } } } },
        spec: { type: "object", required: ["nodeClassRef", "requirements"], additionalProperties: false, properties: {
          nodeClassRef: { type: "object", required: ["group", "kind", "name"], additionalProperties: false,
            properties: { group: str, kind: str, name: str } },
          requirements: { type: "array", items: requirement },
          taints: { type: "array", items: { type: "object", required: ["key", "effect"], additionalProperties: false,
            properties: { key: str, value: { type: "string" }, effect: { enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"] } } } },
          expireAfter: { type: "string", pattern: "^([0-9]+(s|m|h))+$|^Never$" } } } } },
      disruption: { type: "object", additionalProperties: false, properties: {
        consolidationPolicy: { enum: ["WhenEmpty", "WhenEmptyOrUnderutilized"] },
        consolidateAfter: { type: "string", pattern: "^([0-9]+(s|m|h))+$|^Never$" } } },
      limits: { type: "object" }, weight: { type: "integer" } } } } },
  "karpenter.k8s.aws/v1/EC2NodeClass": { type: "object", required: ["apiVersion", "kind", "metadata", "spec"], properties: {
    metadata: { type: "object", required: ["name"] },
    spec: { type: "object", required: ["amiSelectorTerms", "subnetSelectorTerms", "securityGroupSelectorTerms"],
      additionalProperties: false, properties: {
        amiSelectorTerms: selectorTerms, subnetSelectorTerms: selectorTerms, securityGroupSelectorTerms: selectorTerms,
        role: str, instanceProfile: str, userData: { type: "string" },
        blockDeviceMappings: { type: "array", items: { type: "object", required: ["deviceName", "ebs"] } } } } } },
};

function validateKarpenter(key, doc) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const check = ajv.compile(karpenter[key]);
  return check(doc) ? [] : check.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
}

// Schemas kept in schemas/ (from the published CRDs and config formats):
// "FILE" for a kind, or a config file carried in a ConfigMap's data.
function schema(file) {
  return JSON.parse(fs.readFileSync(path.join(__dirname, "schemas", file), "utf8"));
}
const crds = {
  "karpenter.exoscale.com/v1/ExoscaleNodeClass": "exoscalenodeclass.json",
  "resource.k8s.io/v1/ResourceClaimTemplate": "resourceclaimtemplate-v1.json",  // not in kubernetes-models 4.5.1
};
const configMaps = { "carve-device-plugin-config": "device-plugin-config.json" };

function against(file, doc) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const check = ajv.compile(schema(file));
  return check(doc) ? [] : check.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
}

// Each value of a ConfigMap carve fills with another program's config file.
function validateConfigData(doc) {
  const file = configMaps[doc.metadata?.name];
  if (!file) return [];
  const errors = [];
  for (const [key, text] of Object.entries(doc.data || {})) {
    const parsed = YAML.parseDocument(text);
    if (parsed.errors.length) { errors.push(`data.${key}: YAML: ${parsed.errors[0].message}`); continue; }
    for (const e of against(file, parsed.toJS())) errors.push(`data.${key}${e}`);
  }
  return errors;
}

function validate(doc) {
  if (!doc || typeof doc !== "object") return ["not an object"];
  const { apiVersion, kind } = doc;
  if (!apiVersion || !kind) return ["no apiVersion/kind"];
  const key = `${apiVersion}/${kind}`;
  if (karpenter[key]) return validateKarpenter(key, doc);
  if (crds[key]) return against(crds[key], doc);
  const Model = modelFor(apiVersion, kind);
  if (!Model) return [`unknown kind ${key}`];
  try {
    new Model(doc).validate();
    return kind === "ConfigMap" ? validateConfigData(doc) : [];
  } catch (e) {
    return [e.message];
  }
}

function files(p) {
  if (fs.statSync(p).isDirectory())
    return fs.readdirSync(p).sort().filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(p, f));
  return [p];
}

const args = process.argv.slice(2);
const expectInvalid = args.includes("--expect-invalid");
let count = 0, bad = 0;
for (const file of args.filter((a) => !a.startsWith("--")).flatMap(files)) {
  for (const d of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (d.errors.length) { console.log(`${file}: YAML: ${d.errors[0].message}`); bad++; continue; }
    const doc = d.toJS();
    if (doc === null) continue;
    count++;
    const errors = validate(doc);
    for (const e of errors) console.log(`${file}: ${doc.kind || "?"} ${doc.metadata?.name || "?"}: ${e}`);
    if (errors.length) bad++;
  }
}
console.log(`validate: ${count} object(s), ${bad} invalid`);
if (count === 0) process.exit(2);
process.exit(expectInvalid ? (bad === count ? 0 : 1) : (bad ? 1 : 0));
