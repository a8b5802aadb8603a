// OwnerRouter: sends a request about one user to the replica that holds the user's state.
//
// In a Kafka deployment each serving replica holds the users of the partitions it consumes
// (their histories and folded-in vectors). A front door (nginx) may hand a request to any
// replica; that replica finds the user's partition with Kafka's own partitioner
// (kafka_partition_of) and the partition's owner in the table the replicas publish in Redis
// (Cluster::owner_url), and sends the request on. The owner answers it as its own (the
// request is marked with kForwardedHeader, so it never travels twice). Kafka's group
// assignment stays the one source of truth for ownership: after a rebalance the table
// follows within one cluster poll.
//
// When the owner is unknown or does not answer within the timeout, the replica answers
// itself from what it holds (its model and any copy of the user it still has): a degraded
// answer beats none, and the failure is counted and logged.
// Thread-safety: route() may be called concurrently; it blocks its caller for up to the timeout.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "serve/cluster.h"
#include "serve/http_api.h"

namespace nudge::serve {

struct RouterStats {
  uint64_t forwarded = 0;  // requests answered by their owner
  uint64_t failures = 0;   // owners that could not be reached: answered here instead
};

class OwnerRouter {
 public:
  // `partitions`: the topic's partition count; `timeout_ms` bounds one forwarded request.
  OwnerRouter(const Cluster& cluster, int32_t partitions, int timeout_ms = 1000);

  // The owner's answer when another replica owns `user`; none: answer here.
  std::optional<HttpResponse> route(const HttpRequest& request, const std::string& user);
  RouterStats stats() const { return {forwarded_.load(), failures_.load()}; }

 private:
  const Cluster& cluster_;
  int32_t partitions_;
  int timeout_ms_;
  std::atomic<uint64_t> forwarded_{0}, failures_{0};
};

// Sends `request` to the replica at `base_url` ("http://host:port") with kForwardedHeader and
// returns its answer; no answer within `timeout_ms` is an io_error naming the URL.
Result<HttpResponse> forward_request(const std::string& base_url, const HttpRequest& request, int timeout_ms);

}  // namespace nudge::serve
