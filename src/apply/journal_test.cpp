#include "apply/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace carve::apply {
namespace {

namespace fs = std::filesystem;

// A journal of three operations, written by WriteJournal, that a test edits.
class JournalFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("carve-journal-" + std::to_string(::getpid()))).string();
    Journal j;
    j.pid = 1, j.started = "2026-01-01T00:00:00Z", j.ops = {"a", "b", "c"}, j.done = 1;
    ASSERT_TRUE(WriteJournal(dir_, j).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Set(const std::string& key, const nlohmann::json& value) {
    nlohmann::json doc = nlohmann::json::parse(std::ifstream(JournalPath(dir_)));
    doc[key] = value;
    std::ofstream(JournalPath(dir_)) << doc.dump();
  }
  // ReadJournal's refusal, which must name the file, what is wrong with it
  // and the way out.
  std::string Refusal(const std::string& what = " is corrupt: ") {
    auto j = ReadJournal(dir_);
    EXPECT_FALSE(j.ok());
    if (j.ok()) return "";
    EXPECT_EQ(j.status().code(), Code::kInvalidArgument);
    EXPECT_NE(j.status().message().find(JournalPath(dir_) + what), std::string::npos)
        << j.status().message();
    EXPECT_NE(j.status().message().find("carve apply refuses to run"), std::string::npos);
    EXPECT_NE(j.status().hint().find("mv " + JournalPath(dir_)), std::string::npos);
    return j.status().message();
  }
  std::string dir_;
};

TEST_F(JournalFile, ReadsBackWhatWasWritten) {
  auto j = ReadJournal(dir_);
  ASSERT_TRUE(j.ok() && *j) << j.status().ToString();
  EXPECT_EQ((*j)->phase, "forward");
  EXPECT_EQ((*j)->done, 1);
  EXPECT_EQ((*j)->ops.size(), 3u);
}

// Issue #14.2: one version spelling ("v1"); a journal an earlier carve left
// mid-apply still reads, so its work can finish; any other version is corrupt.
TEST_F(JournalFile, ReadsItsVersionAndTheOldSpelling) {
  nlohmann::json doc = nlohmann::json::parse(std::ifstream(JournalPath(dir_)));
  EXPECT_EQ(doc["version"], "v1");
  Set("version", "carve-apply-journal/v1");
  EXPECT_TRUE(ReadJournal(dir_).ok());
  Set("version", "v2");
  EXPECT_NE(Refusal().find("unknown journal version \"v2\""), std::string::npos);
}

// issue #12: any phase but "forward" used to be taken for a rollback.
TEST_F(JournalFile, AnUnknownPhaseIsCorruptNotARollback) {
  Set("phase", "sideways");
  EXPECT_NE(Refusal().find("unknown phase 'sideways'"), std::string::npos);
}

// issue #12: done: 1e12 went through get<int>() and came out negative.
TEST_F(JournalFile, ProgressOutsideItsOperationsIsCorrupt) {
  for (const nlohmann::json& done : {nlohmann::json(1e12), nlohmann::json(4), nlohmann::json(-1),
                                     nlohmann::json(1.5), nlohmann::json("2")}) {
    Set("done", done);
    EXPECT_NE(Refusal().find("'done' is " + done.dump() + ", not a whole number from 0 to 3"),
              std::string::npos)
        << done.dump();
  }
  Set("done", 3);  // killed after the last operation, before verifying: valid
  EXPECT_TRUE(ReadJournal(dir_).ok());
  Set("pid", -1);
  EXPECT_NE(Refusal().find("'pid' is -1"), std::string::npos);
}

TEST_F(JournalFile, NotJsonIsCorrupt) {
  std::ofstream(JournalPath(dir_)) << "{garbage";
  Refusal();
}

// An unreadable journal used to read as no journal at all.
TEST_F(JournalFile, AJournalThatCannotBeReadIsNotAbsent) {
  fs::remove(JournalPath(dir_));
  fs::create_directory(JournalPath(dir_));
  Refusal(" is a directory");
}

// issue #12: `carve apply --dry-run` and `carve assert` print this note.
TEST_F(JournalFile, TheNoteOnACorruptJournalSaysWhatHappensNextAndWhatToDo) {
  Set("phase", "sideways");
  std::string note = PendingNote(dir_);
  EXPECT_NE(note.find(JournalPath(dir_) + " is corrupt"), std::string::npos) << note;
  EXPECT_NE(note.find("carve apply refuses to run until it is dealt with"), std::string::npos);
  EXPECT_NE(note.find("carve export"), std::string::npos) << note;
}

}  // namespace
}  // namespace carve::apply
