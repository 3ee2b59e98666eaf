// GrpcServer when senti is built without gRPC (SENTI_GRPC=OFF, or its packages were not found).
#include <stdexcept>

#include "serving/grpc/grpc_server.h"

namespace senti::serving {

struct GrpcServer::Impl {};

bool GrpcServer::available() { return false; }
GrpcServer::GrpcServer(Service&) {}
GrpcServer::~GrpcServer() = default;

std::uint16_t GrpcServer::start(const std::string&, std::uint16_t) {
  throw std::runtime_error(
      "--grpc-port: this senti was built without gRPC (configure with the packages libgrpc++-dev, "
      "protobuf-compiler-grpc, libprotobuf-dev and protobuf-compiler installed; scripts/setup installs them)");
}
void GrpcServer::begin_drain(std::chrono::system_clock::time_point) {}
std::size_t GrpcServer::active() const { return 0; }
bool GrpcServer::drained() const { return true; }
void GrpcServer::stop() {}

}  // namespace senti::serving
