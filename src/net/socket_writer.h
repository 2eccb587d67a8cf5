#pragma once
// The outgoing side of one connection: a bounded queue of frames written straight to the socket. A frame is a small
// header (the WebSocket frame header; none on raw TCP), an optional head of this connection's own (a STOMP MESSAGE's
// subscription and message-id headers) and a payload shared with every other connection it goes to. The three parts
// go out in one gather write, never joined into one buffer: a fan-out copies no payload per connection.
//
// Why not one asynchronous write per message: in a fan-out one event goes to thousands of connections, and each of
// them was a posted handler, a composed write operation and a completion. Here the thread that sends (a database's
// committer, usually) writes the frame with one non-blocking sendmsg when the connection has nothing queued. Frames
// queue in two cases: inside a SendBatch (util/send_batch.h: the owner joins the batch and calls flush() at its end,
// so the events of one turn go out in one write), and when the socket is full (the owner waits until it is
// writable, then calls resume()). Queued frames go out in gather writes of 64 frames or more (192 parts). A reader
// that falls more than the bound behind is dropped, never buffered without limit. What is queued (headers, heads
// and payloads) is also charged to the server-wide memory budget (util/memory_budget.h), at full size per
// connection even when the payload is shared; a queue the budget cannot take is dropped the same way, as a slow
// client, and when the budget is full the largest queues are the ones it takes back first (enrol_for_eviction).
//
// On a TLS connection (use_tls) frames are encrypted in batches of up to 64 KiB as they are written, and the
// channel's ciphertext goes out first; frames queued before the handshake completes wait for it.
//
// Thread-safe. The owner keeps the socket open until stop() has returned.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <span>

#include "net/message_queue.h"
#include "net/tls_channel.h"
#include "util/memory_budget.h"

namespace backside::net {

// Written in this order: header, head, payload. A WebSocket header's length covers head and payload (one frame).
struct OutgoingFrame {
  std::shared_ptr<const std::string> payload;  // shared; may be null (empty)
  // This connection's own bytes before the payload, usually none. A std::string: the head is rendered into one
  // string anyway and moved here, and a frame that is written at once (the common case) never copies it.
  std::string head;
  std::uint8_t header_size = 0;
  std::array<std::uint8_t, 10> header{};
};

class SocketWriter {
 public:
  // What the owner must do after a call.
  enum class Outcome {
    none,      // nothing: written, queued behind a pending wait or flush, or not started yet
    join,      // queued inside a SendBatch: join it, and call flush() when it ends
    wait,      // the socket is full: wait until it is writable, then call resume()
    drained,   // close() was called and everything, its last frame included, is written: end the connection
    overflow,  // the peer fell more than the bound behind; the queue was dropped: end the connection
    over_budget,  // the server's memory budget cannot take more queued bytes; the queue was dropped: end it
    failed,    // the socket failed (error() says how): end the connection
    refused,   // closing or stopped: the frame was not queued
  };

  // `budget` (none: only the per-connection bound) is charged with what is queued.
  explicit SocketWriter(std::size_t max_queued_bytes, MemoryBudget* budget = nullptr)
      : max_queued_bytes_(max_queued_bytes), charge_(budget, MemoryBudget::Use::outbound_queue) {}

  // Queues a frame (written at once when possible).
  Outcome push(OutgoingFrame frame);
  // Queues frames that go out together, with nothing pushed by other threads between them.
  Outcome push_all(std::span<const OutgoingFrame> frames);
  // Before start(): the connection speaks TLS through `channel`.
  void use_tls(std::shared_ptr<TlsChannel> channel) { tls_ = std::move(channel); }
  // Writes may begin, on socket descriptor `fd` (frames pushed before wait for this). `first` (if it has a
  // payload) goes ahead of them: a protocol's answer to the request that opened the connection.
  Outcome start(int fd, OutgoingFrame first = {});
  // TLS: the channel has output of its own to send (handshake messages, alerts), or the handshake just completed
  // and queued frames may go.
  Outcome flush_tls();
  // After a wait: the socket is writable.
  Outcome resume();
  // At the end of the SendBatch the owner joined.
  Outcome flush();
  // Refuses further frames; `last` (if it has a payload) is the final frame. `drained` once all is written.
  Outcome close(OutgoingFrame last);
  // The connection is ending: drops what is queued. After it returns the socket may be closed. False if it was
  // already stopped.
  bool stop();

  // Lets the memory budget take this queue back, largest first, when others need room: `on_evict` must then end
  // the connection (it runs under the budget's lock: post, nothing more). Call before frames are pushed.
  void enrol_for_eviction(std::function<void()> on_evict) { charge_.enrol(std::move(on_evict)); }

  bool closing() const;
  // Gives back the queue's storage if nothing is queued (an idle connection's memory).
  void trim();
  // The errno of the failed write.
  int error() const { return error_; }

 private:
  Outcome flush_locked();
  Outcome flush_tls_locked();
  // Counts `size` more bytes queued: none, or overflow (a busy queue over the bound) or over_budget, and then the
  // queue is dropped.
  Outcome admit_locked(std::size_t size);
  // Charges the budget with queued_bytes_; false (and the queue dropped) if it cannot.
  bool charge_locked();
  void drop_locked();

  const std::size_t max_queued_bytes_;
  mutable std::mutex mutex_;
  // A busy connection keeps room for a batch; an idle one gives it back (trim()).
  BasicMessageQueue<OutgoingFrame, 64> queue_;
  std::size_t queued_bytes_ = 0;
  MemoryCharge charge_;  // follows queued_bytes_
  std::size_t front_written_ = 0;  // bytes of the front frame already written
  int fd_ = -1;
  std::shared_ptr<TlsChannel> tls_;
  std::size_t tls_in_flight_ = 0;  // bytes of frames encrypted whose ciphertext is not all written yet
  bool tls_close_sent_ = false;
  bool waiting_ = false;   // the socket was full; resume() is due
  bool joined_ = false;    // flush() is due at the end of a SendBatch
  bool closing_ = false;
  bool stopped_ = false;
  int error_ = 0;
};

}  // namespace backside::net
