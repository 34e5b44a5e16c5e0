// SPDX-License-Identifier: Apache-2.0
// Multi-process data parallelism on LibTorch's own distributed package (c10d): a TCPStore for the rendezvous and a
// Gloo process group for the collectives. Every process runs the same program; rank 0 hosts the store on
// masterAddress:masterPort, the others connect to it. The c10d and Gloo headers stay inside Distributed.cxx.
#ifndef rescrnet_Distributed_h
#define rescrnet_Distributed_h

#include "rescrnet/JsonParsing.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rescrnet
{

struct DistributedConfig
{
  int         worldSize{ 1 }; // 1: a single process, no communication at all
  int         rank{ 0 };      // 0 .. worldSize - 1; rank 0 hosts the store and writes the files
  std::string masterAddress{ "127.0.0.1" };
  int         masterPort{ 29500 };
  // How long each collective may wait for the other processes before throwing.
  double timeoutSeconds{ 1800.0 };
  // How long the rendezvous (all worldSize processes joining at masterAddress:masterPort) may take before the
  // process gives up with an error naming the address and how many joined (--rendezvousTimeout).
  double rendezvousTimeoutSeconds{ 300.0 };

  bool
  enabled() const
  {
    return worldSize > 1;
  }
  // Throws std::invalid_argument for a world size below 1, a rank outside [0, worldSize), a port outside
  // [1, 65535] or an empty address (the last two only when enabled()).
  void
  validate() const;

  // From the variables torchrun sets: WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT (absent: the defaults above).
  // Throws std::invalid_argument when one of them is set but not a number.
  static DistributedConfig
  FromEnvironment();

  // The world size and the rendezvous (for provenance; the rank is left out, as every rank trains the same model).
  nlohmann::ordered_json
  toJson() const;
};

// The contiguous part [begin, end) of a batch of `batchSize` samples that `rank` of `worldSize` processes takes:
// begin = rank * batchSize / worldSize (integer division). Slices differ by at most one sample; with fewer samples
// than processes some slices are empty.
std::pair<int64_t, int64_t>
RankSlice(int64_t batchSize, int rank, int worldSize);

// A Gloo process group over a TCPStore. Construction blocks until all `worldSize` processes have joined: it prints
// "waiting for N peer(s) at host:port" on stderr and throws std::runtime_error, naming the address and how many
// processes joined, when the rendezvous timeout passes first. Every collective must be called by all ranks in the same
// order with tensors of the same shapes and types; tensors must live on the CPU.
class ProcessGroup
{
public:
  explicit ProcessGroup(const DistributedConfig & config);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup &) = delete;
  ProcessGroup &
  operator=(const ProcessGroup &) = delete;

  int
  rank() const
  {
    return m_Config.rank;
  }
  int
  worldSize() const
  {
    return m_Config.worldSize;
  }

  // Sums every tensor over the ranks, in place (one Gloo call per scalar type: the tensors are packed).
  void
  allReduceSum(const std::vector<torch::Tensor> & tensors);
  // Replaces every tensor by the one of `root`, in place.
  void
  broadcast(const std::vector<torch::Tensor> & tensors, int root = 0);
  // True on every rank when `flag` is true on any rank.
  bool
  any(bool flag);
  void
  barrier();

private:
  struct Impl;
  DistributedConfig     m_Config;
  std::unique_ptr<Impl> m_Impl;
};

} // namespace rescrnet

#endif
