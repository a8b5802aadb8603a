// Engine::State (internal to src/serve): what an Engine is made of. The tables
// (engine_tables.h) are written by ingestion and read by requests and retrains; the
// Retrainer (retrainer.h) owns the model slots and the retrain thread. engine.cc opens and
// replays them; recommend.cc answers from them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nudge/serve/engine.h"
#include "serve/engine_tables.h"
#include "serve/event_store.h"
#include "serve/retrainer.h"

namespace nudge::serve {

struct Engine::State {
  EngineOptions options;
  std::unique_ptr<EventStore> store;

  Guarded<Catalogue, LockRank::kTable> catalogue;
  UserTable users;
  TrainingLog log;
  Retrainer retrainer{options, catalogue, users, log};  // after the tables it reads
  uint64_t records_skipped = 0;                         // at startup; constant afterwards

  // Interns and logs a batch of stored events and adds them to their users' state.
  void apply(const std::vector<Event>& events);
  // The steps of Engine::open after the store opens, in order (engine.cc).
  Status replay_store();
  Status choose_main_spec();
  Status load_or_train_models();
  std::string spec_path() const { return options.data_dir + "/model.spec"; }
};

}  // namespace nudge::serve
