# Writes OUT: a C++ file holding every file of DIR matching GLOB as a string,
# so data ships inside the binary (the catalogue's JSON, the dashboard's page).
# Defines `const std::vector<std::pair<std::string_view, std::string_view>>&
# NAMESPACE::FUNCTION()`: (file name, contents), sorted by name.
# Usage: cmake -DOUT=… -DDIR=… -DGLOB='*.json' -DNAMESPACE=carve::mig
#              -DFUNCTION=EmbeddedCatalogFiles -P embed_files.cmake
file(GLOB files ${DIR}/${GLOB})
list(SORT files)
set(body "// Generated from ${GLOB} in ${DIR} by cmake/embed_files.cmake. Do not edit.\n")
string(APPEND body "#include <string_view>\n#include <vector>\n#include <utility>\n")
string(APPEND body "namespace ${NAMESPACE} {\n")
string(APPEND body "const std::vector<std::pair<std::string_view, std::string_view>>& ${FUNCTION}() {\n")
string(APPEND body "  static const std::vector<std::pair<std::string_view, std::string_view>> files = {\n")
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  file(READ ${f} content)
  string(FIND "${content}" ")carve_embed\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${f} holds the text )carve_embed\" that ends the embedded string")
  endif()
  string(APPEND body "    {\"${name}\", R\"carve_embed(${content})carve_embed\"},\n")
endforeach()
string(APPEND body "  };\n  return files;\n}\n}  // namespace ${NAMESPACE}\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
