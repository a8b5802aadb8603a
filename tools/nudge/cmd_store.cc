// nudge store: check, repair, back up and restore a server's data directory (store_admin.h).
#include <fmt/core.h>

#include <memory>

#include "commands.h"
#include "nudge/serve/store_admin.h"

namespace nudge::cli {
namespace {

void print_check(const serve::StoreCheck& c) {
  fmt::print("store {}\n", c.store_dir);
  fmt::print("  events {} (sequence up to {}, acknowledged {}), items {}, users {}, stream positions {}\n", c.events,
             c.next_sequence, c.acknowledged, c.items, c.users, c.positions);
  if (c.missing_events > 0) fmt::print("  missing events {}\n", c.missing_events);
  for (const std::string& p : c.problems) fmt::print("  damaged: {}\n", p);
  fmt::print("  {}\n", c.ok() ? "ok" : "DAMAGED");
}

}  // namespace

void add_store_command(CLI::App& root) {
  CLI::App* cmd = root.add_subcommand("store", "Check, repair, back up or restore a data directory of nudge serve");
  cmd->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto dest = std::make_shared<std::string>();

  CLI::App* check = cmd->add_subcommand("check", "Read every record and the log, verify checksums; change nothing");
  check->add_option("DIR", *dir, "Data directory (the -d of nudge serve)")->required();
  check->callback([dir] {
    const serve::StoreCheck c = value_or_throw(serve::check_store(*dir));
    print_check(c);
    if (!c.ok()) throw CommandError("the store is damaged: " + c.problems.front());
  });

  CLI::App* repair = cmd->add_subcommand("repair", "Rebuild a damaged store from its files (a copy is kept first)");
  repair->add_option("DIR", *dir, "Data directory (the -d of nudge serve)")->required();
  repair->callback([dir] {
    std::string copy;
    serve::StoreCheck after;
    ok_or_throw(serve::repair_store(*dir, &copy, &after));
    fmt::print("copied the store to {} before repairing\n", copy);
    print_check(after);
    if (after.missing_events > 0)
      fmt::print("{} events could not be brought back; restore a backup to get them\n", after.missing_events);
  });

  CLI::App* backup = cmd->add_subcommand("backup", "Copy a data directory consistently, also while the server runs");
  backup->add_option("DIR", *dir, "Data directory (the -d of nudge serve)")->required();
  backup->add_option("DEST", *dest, "New directory to write (must not exist)")->required();
  backup->callback([dir, dest] {
    serve::StoreCheck copied;
    ok_or_throw(serve::backup_store(*dir, *dest, &copied));
    fmt::print("backed up {} to {}\n", *dir, *dest);
    print_check(copied);
  });

  CLI::App* restore =
      cmd->add_subcommand("restore", "Make a data directory a backup's copy (the old one is moved aside)");
  restore->add_option("BACKUP", *dest, "Directory written by nudge store backup")->required();
  restore->add_option("DIR", *dir, "Data directory to restore (the -d of nudge serve)")->required();
  restore->callback([dir, dest] {
    std::string aside;
    ok_or_throw(serve::restore_store(*dest, *dir, &aside));
    if (!aside.empty()) fmt::print("moved the old {} to {}\n", *dir, aside);
    fmt::print("restored {} from {}\n", *dir, *dest);
  });
}

}  // namespace nudge::cli
