#include "serve/kafka_client.h"

#include <memory>

#include "nudge/log.h"

namespace nudge::serve {

std::string kafka_place(const std::string& brokers, const std::string& topic) {
  return "kafka: topic '" + topic + "' on " + brokers;
}

Status apply_kafka_settings(rd_kafka_conf_t* conf, const std::vector<std::pair<std::string, std::string>>& settings) {
  char why[512];
  for (const auto& [key, value] : settings)
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), why, sizeof why) != RD_KAFKA_CONF_OK)
      return Status::invalid_field("kafka." + key, why);
  return Status::ok();
}

void kafka_log_callback(const rd_kafka_t*, int level, const char* facility, const char* message) {
  // librdkafka's syslog levels: 3 and 4 are connection trouble it recovers from by itself.
  const auto spd = level <= 4 ? spdlog::level::warn : level <= 6 ? spdlog::level::info : spdlog::level::debug;
  spdlog::log(spd, "kafka: [{}] {}", facility, message);
}

Status check_kafka_topic(rd_kafka_t* rk, const std::string& brokers, const std::string& topic, int timeout_ms,
                         std::vector<int32_t>* partition_ids) {
  const std::string where = kafka_place(brokers, topic);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::io_error(where + ": brokers did not answer within " + std::to_string(timeout_ms) + " ms (" +
                            rd_kafka_err2str(err) + ")");
  std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> owned(md, rd_kafka_metadata_destroy);
  const rd_kafka_metadata_topic_t* found = nullptr;
  for (int k = 0; k < md->topic_cnt; ++k)
    if (topic == md->topics[k].topic) found = &md->topics[k];
  if (!found) return Status::not_found(where + ": no such topic");
  if (found->err != RD_KAFKA_RESP_ERR_NO_ERROR || found->partition_cnt == 0)
    return Status::io_error(where + ": " + rd_kafka_err2str(found->err));
  partition_ids->clear();
  for (int k = 0; k < found->partition_cnt; ++k) partition_ids->push_back(found->partitions[k].id);
  return Status::ok();
}

}  // namespace nudge::serve
