// GrpcServer with gRPC's callback API: no thread waits on a call. A call is translated into the
// equivalent HTTP request and handed to Service::handle on the gRPC thread that received it (which
// validates and tokenizes, as the HTTP network threads do); the answer is rendered and the call finished
// on one completion thread, so the engine thread only runs the model.
#include "serving/grpc/grpc_server.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "serving/grpc/kserve_grpc_codec.h"
#include "serving/grpc/kserve_v2.grpc.pb.h"

namespace senti::serving {
// A named namespace, not an anonymous one: GrpcServer::Impl holds a CompletionThread, and in a unity build
// gcc refuses a class member whose type has internal linkage (-Wsubobject-linkage).
namespace grpc_server_detail {

using nlohmann::json;
namespace codec = grpc_codec;

// Runs posted functions one after another on its own thread; after stop(), runs them inline.
class CompletionThread {
 public:
  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(mutex_);
      if (!stopped_) {
        queue_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    run(fn);
  }
  // Runs what is queued, then joins.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  static void run(const std::function<void()>& fn) {
    try {
      fn();
    } catch (...) {
      // Service answers never throw; a failed Finish leaves nothing to do.
    }
  }
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      run(fn);
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopped_ = false;
  std::thread thread_;
};

const std::string kMethodPrefix = "/inference.GRPCInferenceService/";

HttpRequest get(std::string target) {
  HttpRequest r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

json body_of(const HttpResponse& r) { return json::parse(r.body); }

}  // namespace grpc_server_detail
using namespace grpc_server_detail;  // NOLINT: this file's own helpers

struct GrpcServer::Impl final : inference::GRPCInferenceService::CallbackService {
  explicit Impl(serving::Service& s) : service(s) {}

  // Converts the service's answer into the call's response; the status of the call.
  using Convert = std::function<grpc::Status(const HttpResponse&)>;

  grpc::ServerUnaryReactor* call(grpc::CallbackServerContext* context, std::string_view method, HttpRequest request,
                                 Convert convert) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    ++active;
    request.endpoint = kMethodPrefix + std::string(method);
    service.handle(
        std::move(request),
        [this, reactor, convert = std::move(convert)](HttpResponse answer) {
          grpc::Status status;
          try {
            status = convert(answer);
          } catch (const std::exception& e) {
            status = grpc::Status(grpc::StatusCode::INTERNAL, std::string("cannot convert the answer: ") + e.what());
          }
          reactor->Finish(status);
          --active;
        },
        [this](std::function<void()> fn) { completions.post(std::move(fn)); });
    return reactor;
  }

  // Health: 200 true, 503 (draining) false, other errors as their status.
  static Convert health(std::function<void(bool)> set) {
    return [set = std::move(set)](const HttpResponse& r) {
      if (r.status == 200 || r.status == 503) {
        set(r.status == 200);
        return grpc::Status::OK;
      }
      return codec::error_status(r);
    };
  }

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context, const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* response) override {
    return call(context, "ServerLive", get("/v2/health/live"), health([response](bool ok) { response->set_live(ok); }));
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context, const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* response) override {
    return call(context, "ServerReady", get("/v2/health/ready"), health([response](bool ok) { response->set_ready(ok); }));
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context, const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override {
    return call(context, "ModelReady", get(codec::model_path(request->name(), request->version()) + "/ready"),
                health([response](bool ok) { response->set_ready(ok); }));
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context, const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* response) override {
    return call(context, "ServerMetadata", get("/v2"), [response](const HttpResponse& r) {
      if (r.status != 200) return codec::error_status(r);
      codec::server_metadata_response(body_of(r), *response);
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context, const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override {
    return call(context, "ModelMetadata", get(codec::model_path(request->name(), request->version())),
                [response](const HttpResponse& r) {
                  if (r.status != 200) return codec::error_status(r);
                  codec::model_metadata_response(body_of(r), *response);
                  return grpc::Status::OK;
                });
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context, const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override {
    HttpRequest http;
    try {
      http = codec::infer_request(*request, service.settings().max_client_batch_size);
    } catch (const codec::CodecError& e) {
      service.transport_error(400, e.message, "validation", kMethodPrefix + "ModelInfer");
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(grpc::Status(e.code, e.message));
      return reactor;
    }
    return call(context, "ModelInfer", std::move(http),
                [response, outputs = codec::requested_outputs(*request)](const HttpResponse& r) {
                  if (r.status != 200) return codec::error_status(r);
                  codec::infer_response(body_of(r), outputs, *response);
                  return grpc::Status::OK;
                });
  }

  serving::Service& service;
  CompletionThread completions;
  std::unique_ptr<grpc::Server> server;
  std::thread shutdown;
  std::atomic<bool> shutdown_done{false};
  std::atomic<std::size_t> active{0};
};

bool GrpcServer::available() { return true; }

GrpcServer::GrpcServer(Service& service) : impl_(std::make_unique<Impl>(service)) {}

GrpcServer::~GrpcServer() {
  try {
    stop();
  } catch (...) {
    // Destruction goes on.
  }
}

std::uint16_t GrpcServer::start(const std::string& host, std::uint16_t port) {
  const std::string address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  const ServiceSettings& settings = impl_->service.settings();
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(impl_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<std::size_t>(settings.payload_limit, INT_MAX)));
  // A port already in use is an error, as for HTTP (gRPC would otherwise share it through SO_REUSEPORT).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || bound <= 0) {
    impl_->server.reset();
    throw std::runtime_error("cannot listen for gRPC on " + address);
  }
  impl_->completions.start();
  return static_cast<std::uint16_t>(bound);
}

void GrpcServer::begin_drain(std::chrono::system_clock::time_point deadline) {
  if (!impl_->server || impl_->shutdown.joinable()) return;
  impl_->shutdown = std::thread([this, deadline] {
    impl_->server->Shutdown(deadline);
    impl_->shutdown_done = true;
  });
}

std::size_t GrpcServer::active() const { return impl_->active.load(); }

bool GrpcServer::drained() const { return !impl_->server || impl_->shutdown_done.load(); }

void GrpcServer::stop() {
  if (impl_->server) {
    begin_drain(std::chrono::system_clock::now());
    impl_->shutdown.join();
    impl_->server->Wait();
    impl_->server.reset();
  }
  impl_->completions.stop();
}

}  // namespace senti::serving
