// backside-loadgen: the load generator behind bench/*.sh. Workloads:
//
//   fanout  one writer, N subscribers of one path. Each written value carries its sequence number and the
//           writer's send time ({"seq":n,"ts":ns,"pad":"..."}), so every delivery yields a write-to-delivery
//           latency (writer and subscribers share this process's steady clock).
//             --rate R    R writes/s (fixed rate), or
//             --window W  full speed: at most W writes not yet delivered to every subscriber (default 8)
//             --distinct        many paths: subscriber i listens on PATH/i, each write goes to one random
//                               subscriber's path (one delivery per write)
//             --writer-port P  the writer on another server than the subscribers (a cluster's owner)
//             --subscriber-ports P1,P2,...  subscriber i on port P(i mod k): listeners spread over a cluster's nodes
//             --writes N  full speed, exactly N writes, then stop once all are delivered and acknowledged (not
//                         after --duration): a fixed workload, for bench/instructions_bench.sh (N = 0: connect only)
//             --limit-to-last K query listeners: each subscriber listens with orderByKey().limitToLast(K) (Firebase
//                               protocol), each write adds a new last child PATH/w<seq> (it enters every window
//                               and the oldest child leaves)
//   writes  --clients C connections, each writing to its own path PATH/c one value at a time (the next once the
//           previous is acknowledged: durable, for Backside) for --duration seconds; write rate and ack latency.
//   mixed   writes as above, plus --readers R connections each reading one writer's path after another (the next
//           once the previous read is answered) and --listeners L connections each listening to one writer's path,
//           waiting for the server's confirmation (after the initial value), unlistening, and again: how long reads
//           and listens take while writes flow. Firebase protocol.
//   idle    N connections, each with one listen (--distinct: each on its own path); prints "ready N" and holds
//           them until killed, so that a script can measure the server's memory.
//
// Common options: --proto firebase|redis|stomp|stomp-ws|stomp-rabbitmq (Redis pub/sub: a path is a channel; STOMP
// over TCP: Backside's door, or RabbitMQ's plugin with topic destinations; stomp-ws: Backside's STOMP over WebSocket;
// rest: PUT writes and Server-Sent Events streams), --port P (127.0.0.1), --ns NS, --path P, --subscribers N, --duration S, --drain S (fanout: how
// long to wait for outstanding deliveries), --payload BYTES (size of the written JSON value), --threads T.
// Results: one line of key=value pairs on stdout (exit status 3 if deliveries are missing or connections were
// lost). Progress and errors: stderr.
#include "client.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace loadgen {
namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point t0 = Clock::now();
std::int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count(); }

// Log-linear histogram of nanoseconds: 32 sub-buckets per power of two (about 3 % resolution).
struct Histogram {
  std::array<std::uint64_t, 2048> counts{};
  std::uint64_t total = 0;
  static std::size_t index(std::uint64_t v) {
    if (v < 64) return v;
    int e = 63 - std::countl_zero(v) - 5;
    return 64 + static_cast<std::size_t>(e - 1) * 32 + ((v >> e) & 31);
  }
  static double lower(std::size_t i) {
    if (i < 64) return static_cast<double>(i);
    std::size_t e = (i - 64) / 32 + 1, m = (i - 64) % 32;
    return static_cast<double>((32 + m) << e);
  }
  void add(std::int64_t v) {
    ++counts[index(v < 0 ? 0 : static_cast<std::uint64_t>(v))];
    ++total;
  }
  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
    total += other.total;
  }
  double quantile_ms(double q) const {  // the middle of the bucket holding the q-th value
    if (total == 0) return 0;
    std::uint64_t rank = static_cast<std::uint64_t>(q * static_cast<double>(total - 1)) + 1, seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      seen += counts[i];
      if (seen >= rank) return (lower(i) + lower(i + 1)) / 2 / 1e6;
    }
    return 0;
  }
};

struct Options {
  std::string workload;
  std::string proto = "firebase";
  int port = 0;
  int writer_port = 0;  // fanout: the writer on another server than the subscribers (a cluster's owner); 0 = port
  std::vector<int> subscriber_ports;  // fanout --subscriber-ports P1,P2,...: subscribers spread over these (a cluster)
  std::string ns = "default";
  std::string path = "bench/fan";
  int subscribers = 1;
  double duration = 5;
  double rate = 0;
  int window = 8;
  int payload = 64;
  int threads = 1;
  bool distinct = false;
  int limit_to_last = 0;
  long long max_writes = -1;  // --writes: a fixed number of writes (-1: as many as the duration allows)
  int clients = 64;
  int readers = 0;    // mixed
  int listeners = 0;  // mixed
  double drain = 10;  // seconds to wait for outstanding deliveries after the last write
};

[[noreturn]] void die(const std::string& message) {
  std::cerr << "backside-loadgen: " << message << "\n";
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) die("usage: backside-loadgen fanout|writes|mixed|idle --port P [options] (see bench/loadgen/main.cpp)");
  o.workload = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--port") o.port = std::stoi(next());
    else if (a == "--writer-port") o.writer_port = std::stoi(next());
    else if (a == "--subscriber-ports") {
      std::string list = next();
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        o.subscriber_ports.push_back(std::stoi(list.substr(at, comma - at)));
        at = comma + 1;
      }
    }
    else if (a == "--proto") o.proto = next();
    else if (a == "--ns") o.ns = next();
    else if (a == "--path") o.path = next();
    else if (a == "--subscribers") o.subscribers = std::stoi(next());
    else if (a == "--duration") o.duration = std::stod(next());
    else if (a == "--rate") o.rate = std::stod(next());
    else if (a == "--window") o.window = std::stoi(next());
    else if (a == "--payload") o.payload = std::stoi(next());
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--distinct") o.distinct = true;
    else if (a == "--limit-to-last") o.limit_to_last = std::stoi(next());
    else if (a == "--clients") o.clients = std::stoi(next());
    else if (a == "--readers") o.readers = std::stoi(next());
    else if (a == "--listeners") o.listeners = std::stoi(next());
    else if (a == "--drain") o.drain = std::stod(next());
    else if (a == "--writes") o.max_writes = std::stoll(next());
    else die("unknown option " + a);
  }
  if (o.port <= 0) die("--port is required");
  if (o.proto != "firebase" && o.proto != "redis" && o.proto != "stomp" && o.proto != "stomp-ws" &&
      o.proto != "stomp-rabbitmq" && o.proto != "rest") {
    die("--proto: firebase, redis, stomp (Backside's STOMP over TCP), stomp-ws (over WebSocket), stomp-rabbitmq or "
        "rest (REST writes, Server-Sent Events streams)");
  }
  if (o.subscribers < 0 || o.threads < 1 || o.window < 1 || o.clients < 1 || o.limit_to_last < 0) {
    die("bad --subscribers, --threads, --window, --clients or --limit-to-last");
  }
  if (o.limit_to_last > 0 && o.proto != "firebase") die("--limit-to-last: Firebase protocol only");
  if (o.limit_to_last > 0 && o.distinct) die("--limit-to-last and --distinct do not combine");
  if (o.max_writes >= 0 && o.rate > 0) die("--writes and --rate do not combine");
  if (o.readers < 0 || o.listeners < 0) die("bad --readers or --listeners");
  if (o.workload == "mixed" && o.proto != "firebase") die("mixed: Firebase protocol only");
  return o;
}

std::shared_ptr<Client> make_client(asio::io_context& io, const ClientOptions& options) {
  if (options.proto == "redis") return make_redis_client(io, options);
  if (options.proto.starts_with("stomp")) return make_stomp_client(io, options);
  if (options.proto == "rest") return make_rest_client(io, options);
  return make_firebase_client(io, options);
}

// One io_context per thread; every connection lives on exactly one of them.
struct Threads {
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>>> guards;
  std::vector<std::thread> threads;
  explicit Threads(int n) {
    for (int i = 0; i < n; ++i) {
      ios.push_back(std::make_unique<asio::io_context>(1));
      guards.push_back(std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
          ios.back()->get_executor()));
    }
    for (auto& io : ios) threads.emplace_back([&io] { io->run(); });
  }
  asio::io_context& operator[](std::size_t i) { return *ios[i % ios.size()]; }
};

// Per-thread delivery statistics (touched only by that thread until the end).
struct alignas(64) ThreadStats {
  Histogram latency;
  std::uint64_t deliveries = 0;
  std::int64_t first_ns = 0, last_ns = 0;
};

// Connects `count` clients (at most 256 handshakes in flight), each subscribing to path_of(i).
// Returns once all are subscribed; dies on any failure.
// `spread`: subscriber i connects to spread[i % size] instead of copts' endpoint (the nodes of a cluster).
std::vector<std::shared_ptr<Client>> connect_subscribers(Threads& threads, const ClientOptions& copts, int count,
                                                         const std::function<std::string(int)>& path_of,
                                                         const std::function<void(int, Client&)>& setup,
                                                         const Query& query = {},
                                                         const std::vector<int>& spread = {}) {
  std::vector<std::shared_ptr<Client>> clients(count);
  std::atomic<int> done{0};
  std::mutex error_mutex;
  std::string first_error;
  int launched = 0;
  while (done.load() < count) {
    while (launched < count && launched - done.load() < 256) {
      int i = launched++;
      asio::io_context* io = &threads[static_cast<std::size_t>(i)];
      asio::post(*io, [&, i, io] {
        ClientOptions own = copts;
        if (!spread.empty()) {
          own.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                       static_cast<unsigned short>(spread[static_cast<std::size_t>(i) % spread.size()]));
        }
        auto client = make_client(*io, own);
        clients[i] = client;
        setup(i, *client);
        std::weak_ptr<Client> weak = client;
        client->start([&, i, weak](std::string error) {
          auto fail = [&](const std::string& e) {
            std::lock_guard lock(error_mutex);
            if (first_error.empty()) first_error = "subscriber " + std::to_string(i) + ": " + e;
            done.fetch_add(1);
          };
          if (!error.empty()) return fail(error);
          auto c = weak.lock();
          if (!c) return fail("gone");
          c->subscribe(path_of(i), query, [&, fail](std::string error) {
            if (!error.empty()) return fail(error);
            done.fetch_add(1);
          });
        });
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!first_error.empty()) die(first_error);
  return clients;
}

bool parse_field(std::string_view message, std::string_view key, std::int64_t& out) {
  auto at = message.find(key);
  if (at == std::string_view::npos) return false;
  const char* begin = message.data() + at + key.size();
  return std::from_chars(begin, message.data() + message.size(), out).ec == std::errc{};
}

int run_fanout(const Options& o) {
  Threads threads(o.threads);
  ClientOptions copts;
  copts.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.port));
  copts.ns = o.ns;
  copts.proto = o.proto;

  const int n = o.subscribers;
  // Deliveries each write makes: to every subscriber, or (many paths) to the one whose path it is.
  const std::uint32_t per_write = o.distinct ? 1u : static_cast<std::uint32_t>(n);
  std::vector<ThreadStats> stats(static_cast<std::size_t>(o.threads));
  constexpr std::size_t kRing = 1 << 16;  // per-write delivery counters, for the full-speed window
  auto delivered = std::make_unique<std::atomic<std::uint32_t>[]>(kRing);
  std::atomic<int> lost{0};

  // The writer: one more client, on thread 0.
  std::shared_ptr<Client> writer;
  std::atomic<std::int64_t> writes{0}, acks{0}, ack_errors{0};
  std::atomic<bool> writing{false};
  std::function<void()> write_one;
  std::string pad(static_cast<std::size_t>(std::max(0, o.payload - 40)), 'x');

  auto on_complete = [&] {  // a write reached every subscriber: in window mode, send the next one
    if (o.rate <= 0 && writing.load()) write_one();
  };

  auto clients = connect_subscribers(
      threads, copts, n, [&](int i) { return o.distinct ? o.path + "/" + std::to_string(i) : o.path; },
      [&](int i, Client& c) {
        ThreadStats& s = stats[static_cast<std::size_t>(i % o.threads)];
        auto& writer_io = threads[0];
        c.on_delivery = [&s, &delivered, per_write, &writer_io, &on_complete](std::string_view message) {
          std::int64_t seq = 0, ts = 0;
          if (!parse_field(message, "\"seq\":", seq) || !parse_field(message, "\"ts\":", ts) || seq <= 0) return;
          std::int64_t now = now_ns();
          s.latency.add(now - ts);
          if (s.deliveries++ == 0) s.first_ns = now;
          s.last_ns = now;
          auto& counter = delivered[static_cast<std::size_t>(seq) % kRing];
          if (counter.fetch_add(1) + 1 == per_write) {
            counter.store(0);
            asio::post(writer_io, on_complete);
          }
        };
        c.on_lost = [&lost](std::string error) {
          if (lost.fetch_add(1) < 5) std::cerr << "subscriber lost: " << error << "\n";
        };
      },
      Query{.limit_to_last = o.limit_to_last}, o.subscriber_ports);
  std::cerr << "fanout: " << n << " subscribers ready\n";

  {
    std::atomic<int> ready{0};
    std::string error;
    ClientOptions writer_options = copts;
    if (o.writer_port > 0) {
      writer_options.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.writer_port));
    }
    asio::post(threads[0], [&] {
      writer = make_client(threads[0], writer_options);
      writer->on_lost = [](std::string e) { std::cerr << "writer lost: " << e << "\n"; };
      writer->start([&](std::string e) {
        error = e;
        ready = 1;
      });
    });
    while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!error.empty()) die("writer: " + error);
  }

  std::mt19937 random_path(7);
  write_one = [&] {
    if (o.max_writes >= 0 && writes.load() >= o.max_writes) return;
    std::int64_t seq = writes.fetch_add(1) + 1;
    std::string value = "{\"seq\":" + std::to_string(seq) + ",\"ts\":" + std::to_string(now_ns()) + ",\"pad\":\"" + pad + "\"}";
    std::string path = o.path;
    if (o.distinct && n > 0) {
      path += "/" + std::to_string(random_path() % static_cast<unsigned>(n));
    } else if (o.limit_to_last > 0) {
      char key[24];
      std::snprintf(key, sizeof key, "/w%012lld", static_cast<long long>(seq));  // sorts after every earlier key
      path += key;
    }
    writer->write(path, value, [&](std::string error) {
      acks.fetch_add(1);
      if (!error.empty() && ack_errors.fetch_add(1) < 5) std::cerr << "write failed: " << error << "\n";
      if (n == 0) on_complete();  // no subscribers: the window is on acknowledgements
    });
  };

  const std::int64_t start = now_ns();
  const std::int64_t stop = start + static_cast<std::int64_t>(o.duration * 1e9);
  writing = true;
  asio::steady_timer timer(threads[0]);
  std::function<void()> tick;
  if (o.rate > 0) {
    // Fixed rate: write k is due at start + k / rate; a late timer sends every write that is due.
    tick = [&] {
      std::int64_t now = now_ns();
      if (now >= stop) {
        writing = false;
        return;
      }
      auto due = static_cast<std::int64_t>(static_cast<double>(now - start) * o.rate / 1e9) + 1;
      while (writes.load() < due) write_one();
      auto next = start + static_cast<std::int64_t>(static_cast<double>(writes.load()) * 1e9 / o.rate);
      timer.expires_at(Clock::time_point(t0 + std::chrono::nanoseconds(next)));
      timer.async_wait([&](boost::system::error_code ec) {
        if (!ec) tick();
      });
    };
    asio::post(threads[0], tick);
  } else {
    asio::post(threads[0], [&] {
      for (int i = 0; i < o.window; ++i) write_one();
    });
  }
  const auto fixed_done = [&] {  // --writes: all written, delivered and acknowledged
    std::uint64_t d = 0;
    for (auto& s : stats) d += s.deliveries;  // racy read of counters, fine for progress
    return o.max_writes >= 0 && writes.load() >= o.max_writes &&
           d >= static_cast<std::uint64_t>(o.max_writes) * per_write && acks.load() >= writes.load();
  };
  while (now_ns() < stop && !fixed_done()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  asio::post(threads[0], [&] { writing = false; });

  // Drain: wait for every delivery (at most --drain seconds more).
  auto total_deliveries = [&] {
    std::uint64_t d = 0;
    for (auto& s : stats) d += s.deliveries;  // racy read of counters, fine for progress
    return d;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::int64_t drain_end = now_ns() + static_cast<std::int64_t>(o.drain * 1e9);
  std::uint64_t expected = 0;
  while (now_ns() < drain_end) {
    expected = static_cast<std::uint64_t>(writes.load()) * per_write;
    if (total_deliveries() >= expected && acks.load() >= writes.load()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Stop the threads before reading their statistics.
  for (auto& io : threads.ios) io->stop();
  for (auto& t : threads.threads) t.join();

  Histogram latency;
  std::uint64_t deliveries = 0;
  std::int64_t last = 0;
  for (auto& s : stats) {
    latency.merge(s.latency);
    deliveries += s.deliveries;
    last = std::max(last, s.last_ns);
  }
  const double elapsed = static_cast<double>((deliveries ? last : now_ns()) - start) / 1e9;
  std::printf(
      "workload=%s proto=%s subscribers=%d mode=%s writes=%lld acks=%lld ack_errors=%lld deliveries=%llu expected=%llu "
      "lost=%d seconds=%.3f writes_per_s=%.0f deliveries_per_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
      "max_ms=%.3f\n",
      o.distinct ? "paths" : o.limit_to_last > 0 ? "query" : "fanout", o.proto.c_str(), n, o.rate > 0 ? "rate" : "window", static_cast<long long>(writes.load()), static_cast<long long>(acks.load()),
      static_cast<long long>(ack_errors.load()), static_cast<unsigned long long>(deliveries),
      static_cast<unsigned long long>(expected), lost.load(), elapsed,
      static_cast<double>(writes.load()) / elapsed, static_cast<double>(deliveries) / elapsed,
      latency.quantile_ms(0.5), latency.quantile_ms(0.99), latency.quantile_ms(0.999), latency.quantile_ms(1.0));
  std::fflush(stdout);
  std::_Exit(deliveries == expected && lost.load() == 0 && ack_errors.load() == 0 ? 0 : 3);
}

// C clients, each writing to its own path one value at a time for the duration: writes/s and ack latency.
// Operations of one kind (writes, reads or listens) acknowledged within the measured time, per thread.
struct OperationStats {
  std::vector<ThreadStats> threads;
  explicit OperationStats(int count) : threads(static_cast<std::size_t>(count)) {}
  void record(std::size_t thread, std::int64_t sent, std::int64_t now, std::int64_t stop_at) {
    if (now > stop_at) return;
    ThreadStats& s = threads[thread];
    s.latency.add(now - sent);
    ++s.deliveries;
  }
  std::pair<Histogram, std::uint64_t> total() const {
    Histogram latency;
    std::uint64_t count = 0;
    for (const auto& s : threads) {
      latency.merge(s.latency);
      count += s.deliveries;
    }
    return {latency, count};
  }
};

// The writes workload, and the mixed one: writers, readers and listeners, each connection with one operation in
// flight at a time.
int run_writes(const Options& o) {
  Threads threads(o.threads);
  ClientOptions copts;
  copts.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.port));
  copts.ns = o.ns;
  copts.proto = o.proto;
  const bool mixed = o.workload == "mixed";
  const int writers = o.clients;
  const int readers = mixed ? o.readers : 0;
  const int listeners = mixed ? o.listeners : 0;
  const int c = writers + readers + listeners;
  std::vector<std::shared_ptr<Client>> clients(static_cast<std::size_t>(c));
  OperationStats write_stats(o.threads), read_stats(o.threads), listen_stats(o.threads);
  std::atomic<int> ready{0}, lost{0};
  std::atomic<std::int64_t> errors{0};
  std::atomic<bool> running{false};
  std::atomic<std::int64_t> stop_at{std::numeric_limits<std::int64_t>::max()};
  std::string pad(static_cast<std::size_t>(std::max(0, o.payload - 40)), 'x');
  std::vector<std::function<void()>> next_operation(static_cast<std::size_t>(c));
  auto failed = [&errors](const char* what, const std::string& error) {
    if (errors.fetch_add(1) < 5) std::cerr << what << " failed: " << error << "\n";
  };
  auto writer_path = [&](int i) { return o.path + "/" + std::to_string(i); };
  for (int i = 0; i < c; ++i) {
    asio::io_context& io = threads[static_cast<std::size_t>(i)];
    asio::post(io, [&, i, io = &io] {
      auto client = make_client(*io, copts);
      clients[static_cast<std::size_t>(i)] = client;
      client->on_lost = [&lost](std::string error) {
        if (lost.fetch_add(1) < 5) std::cerr << "connection lost: " << error << "\n";
      };
      const std::size_t thread = static_cast<std::size_t>(i % o.threads);
      Client* raw = client.get();
      std::function<void()>& next = next_operation[static_cast<std::size_t>(i)];
      if (i < writers) {
        next = [&, raw, i, path = writer_path(i), thread, seq = std::int64_t{0}]() mutable {
          if (!running.load()) return;
          const std::int64_t sent = now_ns();
          std::string value = "{\"seq\":" + std::to_string(++seq) + ",\"ts\":" + std::to_string(sent) +
                              ",\"pad\":\"" + pad + "\"}";
          raw->write(path, value, [&, sent, i, thread](std::string error) {
            if (!error.empty()) failed("write", error);
            else write_stats.record(thread, sent, now_ns(), stop_at.load());
            next_operation[static_cast<std::size_t>(i)]();
          });
        };
      } else if (i < writers + readers) {
        next = [&, raw, i, thread, random = std::minstd_rand(static_cast<unsigned>(i))]() mutable {
          if (!running.load()) return;
          const std::int64_t sent = now_ns();
          raw->read(writer_path(static_cast<int>(random() % static_cast<unsigned>(writers))),
                    [&, sent, i, thread](std::string error) {
                      if (!error.empty()) failed("read", error);
                      else read_stats.record(thread, sent, now_ns(), stop_at.load());
                      next_operation[static_cast<std::size_t>(i)]();
                    });
        };
      } else {
        next = [&, raw, i, thread, random = std::minstd_rand(static_cast<unsigned>(i))]() mutable {
          if (!running.load()) return;
          const std::int64_t sent = now_ns();
          std::string path = writer_path(static_cast<int>(random() % static_cast<unsigned>(writers)));
          raw->subscribe(path, Query{}, [&, raw, path, sent, i, thread](std::string error) {
            if (!error.empty()) {
              failed("listen", error);
              return next_operation[static_cast<std::size_t>(i)]();
            }
            listen_stats.record(thread, sent, now_ns(), stop_at.load());
            raw->unsubscribe(path, [&, i](std::string error) {
              if (!error.empty()) failed("unlisten", error);
              next_operation[static_cast<std::size_t>(i)]();
            });
          });
        };
      }
      client->start([&](std::string error) {
        if (!error.empty()) die("client: " + error);
        ready.fetch_add(1);
      });
    });
  }
  while (ready.load() < c) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::cerr << o.workload << ": " << c << " clients ready\n";
  const std::int64_t start = now_ns();
  running = true;
  for (int i = 0; i < c; ++i) {
    asio::post(threads[static_cast<std::size_t>(i)], next_operation[static_cast<std::size_t>(i)]);
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(static_cast<std::int64_t>(o.duration * 1e9)));
  const std::int64_t stop = now_ns();
  stop_at = stop;
  running = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the last acknowledgements
  for (auto& io : threads.ios) io->stop();
  for (auto& t : threads.threads) t.join();
  const double elapsed = static_cast<double>(stop - start) / 1e9;
  const auto [latency, acked] = write_stats.total();
  std::printf(
      "workload=%s proto=%s clients=%d writes=%llu errors=%lld lost=%d seconds=%.3f writes_per_s=%.0f "
      "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f",
      o.workload.c_str(), o.proto.c_str(), writers, static_cast<unsigned long long>(acked),
      static_cast<long long>(errors.load()), lost.load(), elapsed, static_cast<double>(acked) / elapsed,
      latency.quantile_ms(0.5), latency.quantile_ms(0.99), latency.quantile_ms(0.999), latency.quantile_ms(1.0));
  bool answered = acked > 0;
  auto print_kind = [&](const char* kind, int connections, const OperationStats& stats) {
    const auto [kind_latency, count] = stats.total();
    std::printf(" %s=%d %s_per_s=%.0f %s_p50_ms=%.3f %s_p99_ms=%.3f", kind, connections, kind,
                static_cast<double>(count) / elapsed, kind, kind_latency.quantile_ms(0.5), kind,
                kind_latency.quantile_ms(0.99));
    if (connections > 0 && count == 0) answered = false;
  };
  if (mixed) {
    print_kind("reads", readers, read_stats);
    print_kind("listens", listeners, listen_stats);
  }
  std::printf("\n");
  std::fflush(stdout);
  std::_Exit(errors.load() == 0 && lost.load() == 0 && answered ? 0 : 3);
}

int run_idle(const Options& o) {
  Threads threads(o.threads);
  ClientOptions copts;
  copts.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.port));
  copts.ns = o.ns;
  copts.proto = o.proto;
  std::atomic<int> lost{0};
  auto clients = connect_subscribers(
      threads, copts, o.subscribers,
      [&](int i) { return o.distinct ? o.path + "/" + std::to_string(i) : o.path; },
      [&](int, Client& c) {
        c.on_lost = [&lost](std::string error) {
          if (lost.fetch_add(1) < 5) std::cerr << "connection lost: " << error << "\n";
        };
      });
  std::printf("ready %d\n", o.subscribers);
  std::fflush(stdout);
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));  // until killed; a lost connection is on stderr
}

}  // namespace
}  // namespace loadgen

int main(int argc, char** argv) {
  auto o = loadgen::parse(argc, argv);
  if (o.workload == "fanout") return loadgen::run_fanout(o);
  if (o.workload == "idle") return loadgen::run_idle(o);
  if (o.workload == "writes" || o.workload == "mixed") return loadgen::run_writes(o);
  loadgen::die("unknown workload " + o.workload);
}
