#include "circle/wire.hpp"

#include <google/protobuf/arena.h>

#include <memory>

namespace circle::wire {
namespace {

constexpr std::uint32_t kLengthDelimited = 2;

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_field_header(std::string& out, std::uint32_t field_number, std::size_t length) {
  append_varint(out, (static_cast<std::uint64_t>(field_number) << 3) | kLengthDelimited);
  append_varint(out, length);
}

constexpr std::size_t kMaxFieldHeader = 5 /* tag */ + 10 /* varint length */;

}  // namespace

Frame encode(const google::protobuf::MessageLite& message) {
  auto bytes = std::make_shared<std::string>();
  message.SerializeToString(bytes.get());
  return bytes;
}

std::size_t batch_overhead(std::size_t frame_count) {
  return (frame_count + 1) * kMaxFieldHeader;
}

void BatchEncoder::build(std::span<const Frame> frames) {
  std::size_t inner = 0;
  headers_.clear();
  // Reserve first so that the string_views below stay valid.
  headers_.reserve(batch_overhead(frames.size()));
  std::vector<std::size_t> header_ends;
  header_ends.reserve(frames.size() + 1);
  std::string element_headers;
  for (const Frame& frame : frames) {
    const std::size_t before = element_headers.size();
    append_field_header(element_headers, circle::v1::ServerBatch::kMessagesFieldNumber,
                        frame->size());
    inner += element_headers.size() - before + frame->size();
    header_ends.push_back(element_headers.size());
  }
  append_field_header(headers_, circle::v1::ServerMessage::kBatchFieldNumber, inner);
  const std::size_t outer_header = headers_.size();
  headers_ += element_headers;

  pieces_.clear();
  pieces_.reserve(frames.size() * 2 + 1);
  pieces_.emplace_back(headers_.data(), outer_header);
  std::size_t start = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    pieces_.emplace_back(headers_.data() + outer_header + start, header_ends[i] - start);
    pieces_.emplace_back(*frames[i]);
    start = header_ends[i];
  }
  size_ = headers_.size() + (inner - element_headers.size());
}

bool for_each_server_message(
    std::string_view bytes,
    const std::function<void(const circle::v1::ServerMessage&)>& on_message) {
  // A batch and every event in it are parsed into one arena, which starts in
  // a block kept per thread: a batch of small events costs no allocation, where
  // the heap would take several per event (the load generator parses every
  // delivery here). A call made from inside `on_message` gets its own arena.
  constexpr std::size_t kBlockBytes = 64 * 1024;
  thread_local std::unique_ptr<char[]> block;
  thread_local bool block_in_use = false;
  google::protobuf::ArenaOptions options;
  const bool use_block = !block_in_use;
  if (use_block) {
    if (!block) block = std::make_unique<char[]>(kBlockBytes);
    options.initial_block = block.get();
    options.initial_block_size = kBlockBytes;
    block_in_use = true;
  }
  struct Release {
    bool used;
    ~Release() {
      if (used) block_in_use = false;
    }
  } release{use_block};
  google::protobuf::Arena arena(options);
  auto* message = google::protobuf::Arena::CreateMessage<circle::v1::ServerMessage>(&arena);
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  if (message->has_batch()) {
    for (const auto& inner : message->batch().messages()) on_message(inner);
  } else {
    on_message(*message);
  }
  return true;
}

}  // namespace circle::wire
