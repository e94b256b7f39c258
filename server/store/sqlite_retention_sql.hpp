// The retention sweep's statements, apart so that a test can check how
// SQLite runs them (tests/unit/sqlite_store_test.cpp reads their query plans).
//
// Every one finds its rows through an index, never by scanning the events
// table: the sweep runs on the store's writer, between group commits, and a
// scan there grows with the store. (Bounded only by a correlated subquery, the
// kept-days delete scanned every stored event once a minute; at 10,000
// members that held acknowledgements back for over half a second, the
// latency drift bench/soak found.)
#pragma once

namespace circle::store::retention_sql {

// ?1 now (ms), ?2 at most this many: events older than their room's kept
// days, oldest first. The uncorrelated bound (the fewest days any room keeps)
// is what lets SQLite search the time index.
inline constexpr const char* kDeleteExpiredKept =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE"
    " time_ms < ?1 - 86400000 * (SELECT MIN(retention_days) FROM rooms WHERE retention_days > 0)"
    " AND time_ms < ?1 - 86400000 * (SELECT retention_days FROM rooms"
    " WHERE rooms.room_id = events.room_id AND retention_days > 0)"
    " ORDER BY time_ms LIMIT ?2)";

// ?1 now (ms), ?2 the reconnect window (ms), ?3 at most this many: events of
// ephemeral rooms (and of rooms without a record) past the window, oldest first.
inline constexpr const char* kDeleteExpiredEphemeral =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < ?1 - ?2"
    " AND COALESCE((SELECT retention_days FROM rooms WHERE rooms.room_id = events.room_id), 0) = 0"
    " ORDER BY time_ms LIMIT ?3)";

// ?1 now, ?2 the reconnect window: rooms whose newest event this sweep
// deletes remember its seq (last_seq() reads the larger of the record and the
// events). Rooms with a newer event are not written: they still have it.
inline constexpr const char* kKeepLastSeqOfExpiring =
    "UPDATE rooms SET last_seq = (SELECT MAX(seq) FROM events WHERE events.room_id = rooms.room_id)"
    " WHERE (SELECT time_ms FROM events WHERE events.room_id = rooms.room_id"
    " ORDER BY seq DESC LIMIT 1) < ?1 - CASE WHEN retention_days > 0"
    " THEN 86400000 * retention_days ELSE ?2 END"
    " AND (SELECT MAX(seq) FROM events WHERE events.room_id = rooms.room_id) > last_seq";

inline constexpr const char* kAll[] = {kDeleteExpiredKept, kDeleteExpiredEphemeral,
                                       kKeepLastSeqOfExpiring};

}  // namespace circle::store::retention_sql
