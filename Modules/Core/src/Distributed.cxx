// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <map>
#include <stdexcept>

#ifndef USE_C10D_GLOO
#  error "LibTorch's TorchConfig must define USE_C10D_GLOO (LibTorch built with distributed support and Gloo)"
#endif

namespace rescrnet
{

namespace
{
int
intFromEnvironment(const char * name, int fallback)
{
  const char * text = std::getenv(name);
  if (!text || !*text)
    return fallback;
  char *     end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < -2147483647L || v > 2147483647L)
    throw std::invalid_argument(std::string("environment variable ") + name + "='" + text + "' is not an integer");
  return static_cast<int>(v);
}

bool
isLoopback(const std::string & address)
{
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

std::chrono::milliseconds
toMilliseconds(double seconds)
{
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// Packs the tensors of one scalar type into a flat buffer, runs `collective` on it and unpacks the result.
template <typename Collective>
void
packed(const std::vector<torch::Tensor> & tensors, Collective collective)
{
  std::map<c10::ScalarType, std::vector<torch::Tensor>> byType;
  for (const auto & t : tensors)
  {
    TORCH_CHECK(t.defined(), "collective on an undefined tensor");
    TORCH_CHECK(t.device().is_cpu(), "collectives run on CPU tensors");
    byType[t.scalar_type()].push_back(t);
  }
  torch::NoGradGuard noGrad;
  for (auto & kv : byType)
  {
    std::vector<torch::Tensor> flat;
    for (const auto & t : kv.second)
      flat.push_back(t.detach().reshape({ -1 }));
    torch::Tensor buffer = flat.size() == 1 ? flat[0].clone() : torch::cat(flat);
    collective(buffer);
    int64_t offset = 0;
    for (const auto & t : kv.second)
    {
      const int64_t n = t.numel();
      t.detach().copy_(buffer.slice(0, offset, offset + n).view(t.sizes()));
      offset += n;
    }
  }
}
} // namespace

void
DistributedConfig::validate() const
{
  if (worldSize < 1)
    throw std::invalid_argument("world size must be at least 1, not " + std::to_string(worldSize));
  if (rank < 0 || rank >= worldSize)
    throw std::invalid_argument("rank " + std::to_string(rank) + " is outside [0, " + std::to_string(worldSize) + ")");
  if (enabled() && (masterPort < 1 || masterPort > 65535))
    throw std::invalid_argument("master port " + std::to_string(masterPort) + " is outside [1, 65535]");
  if (enabled() && masterAddress.empty())
    throw std::invalid_argument("no master address");
  if (enabled() && !(timeoutSeconds > 0))
    throw std::invalid_argument("the distributed timeout must be positive");
}

DistributedConfig
DistributedConfig::FromEnvironment()
{
  DistributedConfig c;
  c.worldSize = intFromEnvironment("WORLD_SIZE", c.worldSize);
  c.rank = intFromEnvironment("RANK", c.rank);
  if (const char * address = std::getenv("MASTER_ADDR"); address && *address)
    c.masterAddress = address;
  c.masterPort = intFromEnvironment("MASTER_PORT", c.masterPort);
  return c;
}

nlohmann::ordered_json
DistributedConfig::toJson() const
{
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["world_size"] = static_cast<int64_t>(worldSize);
  if (enabled())
  {
    j["master_address"] = masterAddress;
    j["master_port"] = static_cast<int64_t>(masterPort);
  }
  return j;
}

std::pair<int64_t, int64_t>
RankSlice(int64_t batchSize, int rank, int worldSize)
{
  return { batchSize * rank / worldSize, batchSize * (rank + 1) / worldSize };
}

struct ProcessGroup::Impl
{
  c10::intrusive_ptr<c10d::Store>            store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const DistributedConfig & config)
  : m_Config(config)
  , m_Impl(std::make_unique<Impl>())
{
  m_Config.validate();
  const auto            timeout = toMilliseconds(m_Config.timeoutSeconds);
  c10d::TCPStoreOptions storeOptions;
  storeOptions.port = static_cast<std::uint16_t>(m_Config.masterPort);
  storeOptions.isServer = m_Config.rank == 0;
  storeOptions.numWorkers = static_cast<std::size_t>(m_Config.worldSize);
  storeOptions.waitWorkers = true;
  storeOptions.timeout = timeout;
  m_Impl->store = c10::make_intrusive<c10d::TCPStore>(m_Config.masterAddress, storeOptions);

  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // Gloo's own choice of interface: GLOO_SOCKET_IFNAME as in PyTorch; on one machine the loopback address; else the
  // address this machine's host name resolves to (loopback when it does not resolve).
  if (const char * ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  else if (isLoopback(m_Config.masterAddress))
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(m_Config.masterAddress));
  else
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  options->threads = 2;
  m_Impl->group =
    c10::make_intrusive<c10d::ProcessGroupGloo>(m_Impl->store, m_Config.rank, m_Config.worldSize, options);
}

ProcessGroup::~ProcessGroup() = default;

void
ProcessGroup::allReduceSum(const std::vector<torch::Tensor> & tensors)
{
  packed(tensors, [this](torch::Tensor & buffer) {
    std::vector<torch::Tensor> io{ buffer };
    c10d::AllreduceOptions     opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    m_Impl->group->allreduce(io, opts)->wait();
  });
}

void
ProcessGroup::broadcast(const std::vector<torch::Tensor> & tensors, int root)
{
  packed(tensors, [this, root](torch::Tensor & buffer) {
    std::vector<torch::Tensor> io{ buffer };
    c10d::BroadcastOptions     opts;
    opts.rootRank = root;
    m_Impl->group->broadcast(io, opts)->wait();
  });
}

bool
ProcessGroup::any(bool flag)
{
  auto t = torch::tensor({ flag ? int64_t{ 1 } : int64_t{ 0 } });
  allReduceSum({ t });
  return t.item<int64_t>() > 0;
}

void
ProcessGroup::barrier()
{
  m_Impl->group->barrier()->wait();
}

} // namespace rescrnet
