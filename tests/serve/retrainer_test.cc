// The Retrainer alone, on tables filled by hand: when it trains (on request, by count, never
// while held, never on too few events), what the listener may do (it runs under the retrain
// lock and may read the tables: the ranked locks would abort otherwise), and shutdown.
#include "serve/retrainer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::TempDir;

struct Tables {
  TempDir dir;
  EngineOptions options;
  Guarded<Catalogue, LockRank::kTable> catalogue;
  UserTable users;
  TrainingLog log;

  Tables() {
    options.data_dir = dir.file("data");
    options.model.spec = "ials:factors=4,iterations=2,threads=1";
    options.retrain_interval_s = 0;
    options.retrain_after_events = 0;
  }

  // Two groups of users and items, as State::apply writes them (without the user states).
  void add_events(int users_per_group) {
    std::vector<Event> events;
    for (int u = 0; u < 2 * users_per_group; ++u)
      for (int i = 0; i < 5; ++i)
        events.push_back({"u" + std::to_string(u), (u % 2 ? "a" : "b") + std::to_string(i), "view", 1.f, 1700000000});
    std::vector<uint32_t> items, user_index;
    std::vector<EventType> types;
    {
      auto cat = catalogue.write();
      for (const Event& e : events) {
        items.push_back(cat->intern_item(e.item));
        types.push_back(cat->event_types.intern(e.type).value());
      }
    }
    std::vector<UserState*> states;
    users.intern(events, &user_index, &states);
    log.append(events, user_index, items, types);
  }
};

Status requested(Retrainer& r) {
  std::promise<Status> done;
  r.request([&](const Status& st) { done.set_value(st); });
  return done.get_future().get();
}

TEST(Retrainer, TrainsOnRequestNumbersEachModelAndSavesIt) {
  Tables t;
  t.add_events(10);
  Retrainer r(t.options, t.catalogue, t.users, t.log);
  ASSERT_TRUE(r.make_arms().is_ok());
  EXPECT_EQ(r.model(0), nullptr);
  r.start();
  ASSERT_TRUE(requested(r).is_ok());
  ASSERT_NE(r.model(0), nullptr);
  const uint64_t first = r.model(0)->version();
  ASSERT_TRUE(requested(r).is_ok());
  EXPECT_EQ(r.model(0)->version(), first + 1);
  EXPECT_EQ(r.retrains(), 2u);
  EXPECT_TRUE(std::filesystem::exists(r.arm(0).model_path()));
  // A second retrainer on the same directory loads the saved model with its number.
  r.stop();
  Retrainer again(t.options, t.catalogue, t.users, t.log);
  ASSERT_TRUE(again.make_arms().is_ok());
  ASSERT_TRUE(again.load_saved_model(0).is_ok());
  EXPECT_EQ(again.model(0)->version(), first + 1);
}

TEST(Retrainer, CountTriggersARetrainButNotWhileHeld) {
  Tables t;
  t.options.retrain_after_events = 10;
  t.add_events(10);
  Retrainer r(t.options, t.catalogue, t.users, t.log);
  ASSERT_TRUE(r.make_arms().is_ok());
  r.hold();
  r.start();
  r.count_events(100);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the thread looks at least once a second
  EXPECT_EQ(r.retrains(), 0u);
  r.release();
  for (int wait = 0; wait < 100 && r.retrains() == 0; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(r.retrains(), 1u);
}

TEST(Retrainer, TooFewEventsTrainNothing) {
  Tables t;
  t.options.retrain_min_events = 1000;
  t.add_events(10);
  Retrainer r(t.options, t.catalogue, t.users, t.log);
  ASSERT_TRUE(r.make_arms().is_ok());
  ASSERT_TRUE(r.retrain().is_ok());
  EXPECT_EQ(r.model(0), nullptr);
  EXPECT_EQ(r.retrains(), 0u);
}

TEST(Retrainer, TheListenerRunsUnderTheRetrainLockAndMayReadTheTables) {
  Tables t;
  t.add_events(10);
  Retrainer r(t.options, t.catalogue, t.users, t.log);
  ASSERT_TRUE(r.make_arms().is_ok());
  bool under_retrain_lock = false;
  size_t items_seen = 0;
  std::string saved;
  r.set_listener([&](uint64_t, const std::string& path) {
    under_retrain_lock = lock_rank::held(LockRank::kRetrain) && lock_rank::held(LockRank::kListener);
    items_seen = t.catalogue.read()->items.size();  // a table lock under kListener: allowed
    saved = path;
  });
  ASSERT_TRUE(r.retrain().is_ok());
  EXPECT_TRUE(under_retrain_lock);
  EXPECT_EQ(items_seen, 10u);
  EXPECT_EQ(saved, r.arm(0).model_path());
  r.set_listener(nullptr);
  ASSERT_TRUE(r.retrain().is_ok());  // no listener: nothing called
}

TEST(Retrainer, RequestsAfterStopAreAnsweredAtOnce) {
  Tables t;
  Retrainer r(t.options, t.catalogue, t.users, t.log);
  ASSERT_TRUE(r.make_arms().is_ok());
  r.start();
  r.stop();
  r.stop();  // idempotent
  const Status st = requested(r);
  EXPECT_EQ(st.message(), "server is shutting down");
}

TEST(Retrainer, ArmsAreCheckedBeforeAnyDirectoryIsMade) {
  Tables t;
  t.options.arms = {{"main", ""}, {"main", "ease"}};
  Retrainer r(t.options, t.catalogue, t.users, t.log);
  const Status st = r.make_arms();
  EXPECT_EQ(st.field(), "arms[1].name");
  EXPECT_EQ(st.message(), "used twice");
}

}  // namespace
}  // namespace nudge::serve
