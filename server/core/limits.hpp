// Every limit Circle enforces, with its safe default. The server's config sets
// them (README: "Configuration"); logic reads them from here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace circle::core {

struct Limits {
  // Largest WebSocket message read from a client, in bytes.
  std::uint32_t read_message_max = 64 * 1024;
  // Largest chat text, in UTF-8 bytes.
  std::uint32_t max_text_bytes = 4 * 1024;
  // Largest display name, in UTF-8 bytes.
  std::uint32_t max_display_name_bytes = 64;
  // Largest room title, in UTF-8 bytes.
  std::uint32_t max_room_title_bytes = 120;
  // Largest room topic, in UTF-8 bytes.
  std::uint32_t max_topic_bytes = 280;
  // Largest group agreement, in UTF-8 bytes.
  std::uint32_t max_agreement_bytes = 4 * 1024;
  // Largest reason given for a moderation action, in UTF-8 bytes.
  std::uint32_t max_reason_bytes = 500;
  // Seconds a facilitator who dropped may take to come back before a
  // co-facilitator takes over.
  std::uint32_t facilitator_grace_seconds = 60;
  // Seconds a support alert may go unacknowledged before it goes to the
  // service's operators (at once when no facilitator is in the room).
  std::uint32_t support_escalate_after_seconds = 120;
  // Reports a room keeps open for its facilitators at most; more are refused
  // until some are resolved (a flood of reports cannot grow a room forever).
  std::uint32_t max_open_reports = 500;
  // ... and from one account (so that one member cannot fill the queue).
  std::uint32_t max_open_reports_per_account = 20;
  // Largest content warning on a message, in UTF-8 bytes.
  std::uint32_t max_content_warning_bytes = 100;
  // Members one account may ignore in a room at once.
  std::uint32_t max_ignored_per_account = 100;
  // Invite links a room keeps open at once; and the longest one works.
  std::uint32_t max_invites = 50;
  std::int64_t max_invite_ttl_seconds = 7 * 24 * 3600;
  // Longest timed mute, in seconds.
  std::uint32_t max_mute_seconds = 7 * 24 * 3600;
  // Largest account token in Hello, in bytes.
  std::uint32_t max_token_bytes = 4 * 1024;
  // Largest client_message_id, in bytes.
  std::uint32_t max_client_message_id_bytes = 64;
  // Largest room id, in bytes.
  std::uint32_t max_room_id_bytes = 64;
  // Rooms one connection may have joined at once.
  std::uint32_t max_joined_rooms = 32;
  // Rooms on the server.
  std::uint32_t max_rooms = 10'000;
  // Members in one room.
  std::uint32_t max_room_members = 5'000;
  // Recent events kept per room and sent in a join snapshot.
  std::uint32_t snapshot_history_events = 50;
  // How long a room's history is kept (ephemeral rooms, the default for
  // peer-support groups): long enough for a dropped member to resume, and
  // then deleted, not hidden, from memory and from the store.
  std::uint32_t reconnect_window_seconds = 600;
  // Longest history retention a facilitator may give a room, in days.
  std::uint32_t max_retention_days = 365;
  // Most events replayed to a resuming client; a longer gap gets a fresh
  // snapshot instead.
  std::uint32_t max_resume_events = 5000;
  // Client message ids a room remembers (per room, the most recent), so that
  // a retried send gets its original ack instead of a second message.
  std::uint32_t remembered_client_message_ids = 4096;
  // Bytes queued for one slow client before it is disconnected.
  std::size_t outbound_queue_max_bytes = 4 * 1024 * 1024;
  // Messages queued for one slow client before it is disconnected.
  std::size_t outbound_queue_max_messages = 8192;
  // Most bytes coalesced into one outgoing WebSocket message.
  std::size_t write_batch_max_bytes = 256 * 1024;
  // Requests one connection may send per second (0: no limit), and how many
  // at once after a quiet moment (a client resending its queue after a
  // reconnect). Over it: RATE_LIMITED; this many refusals in a row: closed.
  std::uint32_t requests_per_second = 30;
  // Joins one room takes per second (0: no limit), and at once: enough for
  // every member of a big room coming back after a restart.
  std::uint32_t room_joins_per_second = 100;
  std::uint32_t room_join_burst = 1000;
  std::uint32_t request_burst = 100;
  std::uint32_t rate_limited_close_after = 50;
};

}  // namespace circle::core
