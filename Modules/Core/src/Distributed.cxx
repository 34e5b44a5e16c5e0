// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "rescrnet/TextUtilities.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <stdexcept>
#include <thread>

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
  if (enabled() && !(timeoutSeconds > 0 && timeoutSeconds <= 1e6))
    throw std::invalid_argument("the distributed timeout must be positive");
  if (enabled() && !(rendezvousTimeoutSeconds > 0 && rendezvousTimeoutSeconds <= 1e6))
    throw std::invalid_argument("the rendezvous timeout must be a number of seconds in (0, 1000000]");
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

namespace
{
// Every process adds 1 to this counter of the store; the rendezvous is complete when it reaches the world size.
const char * const JoinedKey = "rescrnet/rendezvous/joined";

std::string
secondsText(double seconds)
{
  std::string s = std::to_string(seconds);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  return s + " s";
}
} // namespace

ProcessGroup::ProcessGroup(const DistributedConfig & config)
  : m_Config(config)
  , m_Impl(std::make_unique<Impl>())
{
  m_Config.validate();
  const std::string where = m_Config.masterAddress + ":" + std::to_string(m_Config.masterPort);
  const auto        rendezvousTimeout = toMilliseconds(m_Config.rendezvousTimeoutSeconds);
  const auto        deadline = std::chrono::steady_clock::now() + rendezvousTimeout;
  const int         peers = m_Config.worldSize - 1;
  std::cerr << "rank " << m_Config.rank << ": waiting for " << peers << (peers == 1 ? " peer" : " peers") << " at "
            << where << " (gives up after " << secondsText(m_Config.rendezvousTimeoutSeconds) << ")" << std::endl;

  c10d::TCPStoreOptions storeOptions;
  storeOptions.port = static_cast<std::uint16_t>(m_Config.masterPort);
  storeOptions.isServer = m_Config.rank == 0;
  storeOptions.numWorkers = static_cast<std::size_t>(m_Config.worldSize);
  storeOptions.waitWorkers = false; // the rendezvous below waits, with a deadline and a message
  storeOptions.timeout = rendezvousTimeout;
  try
  {
    m_Impl->store = c10::make_intrusive<c10d::TCPStore>(m_Config.masterAddress, storeOptions);
    m_Impl->store->add(JoinedKey, 1);
    int64_t joined = 0;
    while ((joined = m_Impl->store->add(JoinedKey, 0)) < m_Config.worldSize)
    {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the rendezvous at " + where + " timed out after " +
                                 secondsText(m_Config.rendezvousTimeoutSeconds) + ": " + std::to_string(joined) +
                                 " of " + std::to_string(m_Config.worldSize) +
                                 " processes joined (--rendezvousTimeout)");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  catch (const c10::Error & e)
  {
    const std::string role = m_Config.rank == 0 ? "host" : "reach";
    throw std::runtime_error("cannot " + role + " the rendezvous at " + where + " (rank " +
                             std::to_string(m_Config.rank) + " of " + std::to_string(m_Config.worldSize) +
                             ", timeout " + secondsText(m_Config.rendezvousTimeoutSeconds) +
                             "): " + OneLine(e.what_without_backtrace()));
  }
  // Collectives (and Gloo's own connection set-up) wait up to the training timeout from here on.
  m_Impl->store->setTimeout(toMilliseconds(m_Config.timeoutSeconds));

  auto options = c10d::ProcessGroupGloo::Options::create(toMilliseconds(m_Config.timeoutSeconds));
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
