#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "audit/log.h"
#include "cli/admin_runtime.h"
#include "cli/cli.h"
#include "audit/metrics.h"
#include "cli/exporters.h"
#include "proxy/strict_audit.h"
#include "cli/data_dir_lock.h"
#include "cli/retention.h"
#include "cli/identity_setup.h"
#include "common/log.h"
#include "identity/ed25519_key.h"
#include "identity/token_verifier.h"
#include "net/server.h"
#include "policy/snapshot.h"
#include "proxy/context.h"
#include "proxy/http_runtime.h"
#include "proxy/http_session.h"
#include "proxy/pg_session.h"

namespace phigate::cli {

namespace asio = net::asio;
namespace ssl = net::ssl;

namespace {

std::unique_ptr<ssl::context> make_server_tls(const Config& c) {
  if (c.gateway.tls_cert.empty()) return nullptr;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  net::error_code ec;
  ctx->use_certificate_chain_file(c.gateway.tls_cert, ec);
  if (!ec) ctx->use_private_key_file(c.gateway.tls_key, ssl::context::pem, ec);
  if (ec) {
    spdlog::error("cannot load TLS certificate/key ({}, {}): {}", c.gateway.tls_cert,
                  c.gateway.tls_key, ec.message());
    return nullptr;
  }
  return ctx;
}

}  // namespace

int cmd_serve(const std::string& config_path, const std::string& log_format,
              const std::string& log_level, const Wiring& wiring) {
  init_logging(log_format, log_level);
  auto loaded = load_or_report(config_path);
  if (!loaded) return 2;
  Config config = std::move(*loaded);
  std::error_code fec;
  // data_dir holds signing keys and the audit store: owner-only, like ~/.ssh.
  if (std::filesystem::create_directories(config.gateway.data_dir, fec))
    std::filesystem::permissions(config.gateway.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, fec);
  if (fec) {
    spdlog::error("cannot create data_dir {}: {}", config.gateway.data_dir, fec.message());
    return 1;
  }

  // The benchmark-only "audit off" store is refused for misuse before anything else runs.
  std::unique_ptr<audit::Store> bench_store;
  if (wiring.bench_audit_discard) {
    auto b = open_bench_discard_store(config);
    if (!b) {
      spdlog::error("cannot open the audit store: {}", b.error().message);
      return 1;
    }
    bench_store = std::move(*b);
  }

  // One gateway per data_dir: a second writer would fork the audit chain.
  auto dir_lock = DataDirLock::acquire(config.gateway.data_dir);
  if (!dir_lock) {
    spdlog::error("{}", dir_lock.error().message);
    return 1;
  }

  auto identity = setup_identity(config);
  if (!identity) {
    spdlog::error("cannot load the local issuer key: {}", identity.error().message);
    return 1;
  }
  TokenVerifier& verifier = *identity->verifier;
  // OIDC signing keys load in the background; a token arriving first waits for that fetch.
  if (identity->fetcher) identity->fetcher->start();

  auto snap = PolicySnapshot::compile(config, 1);
  if (!snap) {
    spdlog::error("policy does not compile: {}", snap.error().message);
    return 2;
  }
  PolicyHolder policy(*snap);

  auto store = bench_store ? Result<std::unique_ptr<audit::Store>>(std::move(bench_store))
                           : wiring.open_store(config, false);
  if (!store) {
    spdlog::error("cannot open the audit store: {}", store.error().message);
    return 1;
  }
  audit::Metrics event_metrics;
  audit::Log log(std::move(store.value()), config.gateway.node_id);
  Bytes audit_public_key;
  if (!wiring.bench_audit_discard) {
    // audit/ cannot depend on identity/ (DESIGN.md §2), so the key file is handled here with the
    // same loader as the issuer key and handed over as PEM.
    auto key = Ed25519Key::load_or_create(audit_key_path(config.gateway.data_dir));
    if (!key) {
      spdlog::error("cannot load the audit checkpoint key: {}", key.error().message);
      return 1;
    }
    auto ckey = audit::CheckpointKey::from_pem((*key)->to_pem());
    if (!ckey) {
      spdlog::error("cannot use the audit checkpoint key: {}", ckey.error().message);
      return 1;
    }
    audit_public_key = (*key)->public_key();
    log.set_checkpointing(
        std::move(*ckey), config.audit.checkpoint_every_events,
        std::chrono::duration_cast<std::chrono::milliseconds>(config.audit.checkpoint_every));
  }
  // GET /metrics counts what the audit stream says (audit/metrics.h): it sees every record the
  // log commits. Declared before the log's users, so it outlives them.
  log.set_observer([&event_metrics](const audit::Event& e) { event_metrics.observe(e); });
  const auto open_start = std::chrono::steady_clock::now();
  if (auto st = log.open(); !st) {
    spdlog::error("cannot continue the audit chain: {}", st.error().message);
    return 1;
  }
  // Restart time is dominated by this (the Merkle tree over the stored records): worth seeing.
  spdlog::info(
      "audit log opened at seq {} in {} ms (Merkle tree resumed at tree_size {} + {} "
      "records read)",
      log.last_seq(),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            open_start)
          .count(),
      log.stats().tree_resumed_at, log.stats().tree_records_read);

  // Exporters read committed records from the store on their own threads (never the data path).
  auto exporters = start_audit_exporters(config, wiring, log);
  if (!exporters) {
    spdlog::error("{}", exporters.error().message);
    return 1;
  }

  // Result capture (audit.capture): blobs written by session threads before their result records.
  std::unique_ptr<audit::BlobStore> blobs;
  if (wiring.open_blobs) {
    auto b = wiring.open_blobs(config, false);
    if (!b) {
      spdlog::error("cannot open the capture blob store: {}", b.error().message);
      return 1;
    }
    blobs = std::move(*b);
  }
  std::unique_ptr<RetentionRunner> retention;
  if (!config.audit.retention.empty()) {
    retention =
        std::make_unique<RetentionRunner>(config, wiring, log, blobs.get(), audit_public_key);
  }

  auto tls = make_server_tls(config);
  if (!config.gateway.tls_cert.empty() && !tls) return 2;

  proxy::CancelRegistry cancels;
  proxy::GatewayContext ctx;
  ctx.policy = &policy;
  ctx.verifier = &verifier;
  ctx.audit = &log;
  ctx.client_tls = tls.get();
  ctx.cancels = &cancels;
  ctx.node_id = config.gateway.node_id;
  // The store is there for HTTP body capture too (per resource: http.capture_bodies); PostgreSQL
  // result capture stays off while audit.capture is (capture_rows 0).
  ctx.blobs = blobs.get();
  if (config.audit.capture.enabled) {
    ctx.capture_rows = config.audit.capture.rows;
    ctx.capture_bytes = config.audit.capture.bytes;
  }
  ctx.strict_audit = config.audit.durability == "strict";
  ctx.allow_remote_cleartext = config.gateway.allow_cleartext_token_remote;
  ctx.startup_timeout = config.gateway.startup_timeout;

  std::unique_ptr<proxy::HttpRuntimeHolder> http_runtime;
  if (!config.gateway.listen.http.empty()) {
    // inject_headers secrets and maskers are resolved now, so a missing secret stops start-up.
    auto rt = proxy::HttpRuntime::build(policy.get());
    if (!rt) {
      spdlog::error("http: {}", rt.error().message);
      return 2;
    }
    http_runtime = std::make_unique<proxy::HttpRuntimeHolder>(*rt);
    ctx.http = http_runtime.get();
  }
  // Admin API + approvals (listen.admin); without it `review` rules are denials.
  admin::MetricsSources metrics;
  metrics.events = &event_metrics;
  metrics.exporters = [ex = exporters->get()] {
    std::vector<admin::ExporterLag> out;
    for (const auto& l : ex->lags()) out.push_back({l.name, l.records_behind, l.failures});
    return out;
  };
  auto admin_rt = AdminRuntime::start(config, wiring, policy, verifier, log, tls.get(),
                                      identity->local, std::move(metrics));
  if (!admin_rt) {
    spdlog::error("{}", admin_rt.error().message);
    return 1;
  }
  if (*admin_rt) (*admin_rt)->attach(ctx);

  net::Server server(config.gateway.threads, config.gateway.cpu_affinity);
  if (!config.gateway.listen.postgres.empty()) {
    auto port = server.listen(config.gateway.listen.postgres,
                              [&ctx](net::tcp::socket s, asio::io_context&) {
                                proxy::PgSession::start(std::move(s), ctx);
                              });
    if (!port) {
      spdlog::error("{}", port.error().message);
      return 1;
    }
    spdlog::info("postgres listener on {} (port {}), {} threads, audit {}",
                 config.gateway.listen.postgres, *port, server.contexts().size(),
                 config.audit.durability);
  }

  if (http_runtime) {
    auto port =
        server.listen(config.gateway.listen.http, [&ctx](net::tcp::socket s, asio::io_context&) {
          proxy::HttpSession::start(std::move(s), ctx);
        });
    if (!port) {
      spdlog::error("{}", port.error().message);
      return 1;
    }
    spdlog::info("http listener on {} (port {})", config.gateway.listen.http, *port);
  }

  // Signals on the main thread: SIGTERM/SIGINT stop, SIGHUP reloads the policy snapshot.
  asio::io_context main_ctx(1);
  asio::signal_set signals(main_ctx, SIGINT, SIGTERM, SIGHUP);
  uint64_t version = 1;
  std::function<void(const net::error_code&, int)> on_signal = [&](const net::error_code& ec,
                                                                   int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      ConfigLoad reload = load_config_file(config_path);
      if (!reload.config) {
        spdlog::error("reload refused, keeping policy v{}:\n{}", version, format_errors(reload));
      } else if (auto s = PolicySnapshot::compile(*reload.config, version + 1); !s) {
        spdlog::error("reload refused: {}", s.error().message);
      } else if (auto h = http_runtime ? proxy::HttpRuntime::build(*s)
                                       : Result<std::shared_ptr<const proxy::HttpRuntime>>(nullptr);
                 !h) {
        spdlog::error("reload refused: http: {}", h.error().message);
      } else {
        if (http_runtime) http_runtime->set(*h);
        policy.set(*s);
        ++version;
        spdlog::info("policy reloaded: v{}", version);
      }
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("signal {}: shutting down", sig);
    main_ctx.stop();
  };
  signals.async_wait(on_signal);
  // Records an io thread batched (proxy/strict_audit.h) and had not committed when its loop
  // stopped.
  server.on_thread_exit(proxy::flush_thread_batch);
  server.start();
  main_ctx.run();
  server.stop();
  server.wait();
  if (retention) retention->stop();  // its prune record goes in before the final checkpoint
  if (*admin_rt) (*admin_rt)->stop();
  log.close();
  (*exporters)->stop();
  spdlog::info("stopped; audit log closed at seq {}", log.last_seq());
  return 0;
}

}  // namespace phigate::cli
