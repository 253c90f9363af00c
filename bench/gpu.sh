#!/usr/bin/env bash
# The GPU bench: the bench rows (MLP and CNN predict, the elementwise chain, the MLP Adam train
# step) on each GPU engine (tfjs-webgpu, ONNX Runtime's WebGPU and CUDA providers) beside cpu,
# wasm and ORT's CPU provider, and the elementwise chain's GB/s against the card's memory
# bandwidth. For a fresh GPU machine with Node ≥ 20 and this repository, nothing else; the only
# network it needs is the npm registry. bench/gpu.ts does the work; this script sets up:
#
#   1. npm ci (skipped when node_modules exists; GPU_BENCH_INSTALL=1 forces it), with
#      ONNXRUNTIME_NODE_INSTALL unset, so that onnxruntime-node's install script downloads its
#      CUDA provider libraries from nuget.org; where that fails (no route to nuget.org), npm ci
#      again with ONNXRUNTIME_NODE_INSTALL=skip. Where npm did not run the install script (an npm
#      that honours package.json's allowScripts) and nvidia-smi sees a GPU, the script is run once
#      by hand for the CUDA libraries; failing is fine (ort-cuda is then reported absent).
#   2. Vulkan for the WebGPU engines: the loader (libvulkan1, installed with apt-get when
#      missing and possible), and NVIDIA's Vulkan driver manifest: containers often have the
#      driver (libGLX_nvidia.so.0) without /usr/share/vulkan/icd.d/nvidia_icd.json; one is then
#      written to a temporary folder and named in VK_ADD_DRIVER_FILES.
#   3. bench/gpu.ts under a time limit (GPU_BENCH_LIMIT seconds, default 480; the bench itself
#      starts no new row after --deadline, 420 s by default).
#
#   bench/gpu.sh [gpu.ts flags: --quick --engines ... --only ... --budget MS --deadline S --json FILE]
#   bench/gpu.sh --quick     tiny sizes, software adapters allowed (checks the script end to end without a GPU)
set -uo pipefail
cd "$(dirname "$0")/.."
say() { echo "gpu.sh: $*" >&2; }
limit="${GPU_BENCH_LIMIT:-480}"

command -v node >/dev/null || { say "node is not installed (Node ≥ 20 is needed)"; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || { say "node $(node --version) is too old (Node ≥ 20 is needed)"; exit 1; }
gpu=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  gpu=1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu.sh: GPU: /' >&2
else
  say "no NVIDIA GPU visible (nvidia-smi); the GPU engines use whatever adapter Vulkan offers"
fi

# 1. dependencies
if [ ! -d node_modules ] || [ "${GPU_BENCH_INSTALL:-}" = 1 ]; then
  if ! timeout 900 env -u ONNXRUNTIME_NODE_INSTALL npm ci --no-audit --no-fund; then
    say "npm ci failed (onnxruntime-node's CUDA download from nuget.org?); again with ONNXRUNTIME_NODE_INSTALL=skip"
    timeout 900 env ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund || { say "npm ci failed"; exit 1; }
  fi
else
  say "node_modules exists: npm ci skipped (GPU_BENCH_INSTALL=1 runs it)"
fi
ort_bin=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
if [ "$gpu" = 1 ] && [ -d "$ort_bin" ] && [ ! -f "$ort_bin/libonnxruntime_providers_cuda.so" ]; then
  say "onnxruntime-node's CUDA libraries are missing: running its install script (nuget.org)"
  timeout 300 env ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
    || say "could not download them: ort-cuda will be absent"
fi

# 2. Vulkan
has_lib() { /sbin/ldconfig -p 2>/dev/null | grep "$1 " >/dev/null; }
if ! has_lib 'libvulkan\.so\.1' && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo -n"
  say "no Vulkan loader: apt-get install libvulkan1"
  { timeout 120 $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive timeout 180 $sudo apt-get install -y -q libvulkan1; } >&2 \
    || say "could not install libvulkan1: the WebGPU engines may be absent"
fi
if [ "$gpu" = 1 ] && [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}${VK_ADD_DRIVER_FILES:-}" ] \
   && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1 \
   && has_lib 'libGLX_nvidia\.so\.0'; then
  icd="$(mktemp -d)/nvidia_icd.json"
  printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3"}}\n' > "$icd"
  export VK_ADD_DRIVER_FILES="$icd"
  say "no NVIDIA Vulkan manifest installed: using $icd (libGLX_nvidia.so.0)"
fi

# 3. the bench
say "running bench/gpu.ts (limit ${limit} s)"
timeout --kill-after=10 "$limit" npx tsx bench/gpu.ts "$@"
rc=$?
[ "$rc" = 124 ] && say "bench/gpu.ts ran past ${limit} s and was stopped (GPU_BENCH_LIMIT raises the limit)"
exit "$rc"
