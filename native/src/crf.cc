// Fully connected CRF post-processing (dense CRF) with Gaussian edge potentials.
//
//   Krähenbühl & Koltun, "Efficient Inference in Fully Connected CRFs with Gaussian Edge Potentials",
//   NIPS 2011: mean-field inference where each message pass is a Gaussian filter over all pixels.
//   Adams, Baek & Davis, "Fast High-Dimensional Filtering Using the Permutohedral Lattice",
//   Eurographics 2010: the filter itself (splat onto a lattice, blur along its d+1 axes, slice back).
//
// The conventions follow the authors' densecrf v2 (the version DeepLab and pydensecrf use) so that their
// published parameters carry over: features are positions/θ, Potts compatibility, symmetric kernel
// normalisation, and the self-contribution is not removed.
//
// Deliberately plain C++17 without torch headers (fast to compile); the N-API glue is at the bottom.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace aepsl {
namespace {

// Runs body(worker, lo, hi) over [0, count) split into contiguous chunks. A worker's exception is rethrown
// on the calling thread after every worker has joined (a throwing std::thread would abort the process).
template <typename F>
void ParallelFor(int threads, int count, F&& body) {
  threads = std::max(1, std::min(threads, count));
  if (threads == 1) {
    body(0, 0, count);
    return;
  }
  std::vector<std::exception_ptr> errors(threads);
  auto run = [&](int t) {
    try {
      body(t, static_cast<int>(static_cast<int64_t>(count) * t / threads),
           static_cast<int>(static_cast<int64_t>(count) * (t + 1) / threads));
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  try {
    for (int t = 1; t < threads; ++t) pool.emplace_back(run, t);
  } catch (...) {
    for (auto& th : pool) th.join();
    throw;
  }
  run(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// ---------------------------------------------------------------------------------------------------------
// Permutohedral lattice

// Open-addressing hash from integer lattice keys (d coordinates; the (d+1)-th is implied by sum = 0) to
// dense vertex indices. int32 coordinates so that small θ or huge images cannot overflow a key. Each slot
// carries 32 bits of the hash, so most probes that miss never touch the key array (on noisy images the
// lattice has ~N·(d+1) vertices and lookups are cache-miss bound).
class LatticeHash {
 public:
  LatticeHash(int d, size_t expected) : d_(d) {
    size_t cap = 64;
    while (cap < expected * 2) cap <<= 1;
    slots_.assign(cap, Slot{0, -1});
    keys_.reserve(expected * d);
  }

  int size() const { return static_cast<int>(keys_.size() / d_); }
  const int32_t* key(int i) const { return keys_.data() + static_cast<size_t>(i) * d_; }

  uint64_t hash(const int32_t* k) const {
    uint64_t s = 0;
    for (int i = 0; i < d_; ++i) s = (s + static_cast<uint32_t>(k[i])) * 2531011ULL;
    s ^= s >> 29;
    s *= 0xbf58476d1ce4e5b9ULL;
    s ^= s >> 32;
    return s;
  }

  // Index of `k` (whose hash is h), or -1 when absent. Safe to call from several threads at once.
  int find(const int32_t* k, uint64_t h) const {
    const size_t mask = slots_.size() - 1;
    const uint32_t fp = Fingerprint(h);
    for (size_t at = h & mask;; at = (at + 1) & mask) {
      const Slot& e = slots_[at];
      if (e.index < 0) return -1;
      if (e.fp == fp && std::equal(k, k + d_, key(e.index))) return e.index;
    }
  }

  int insert(const int32_t* k, uint64_t h) {
    const size_t mask = slots_.size() - 1;
    const uint32_t fp = Fingerprint(h);
    for (size_t at = h & mask;; at = (at + 1) & mask) {
      Slot& e = slots_[at];
      if (e.index < 0) {
        const int idx = size();
        keys_.insert(keys_.end(), k, k + d_);
        e = Slot{fp, idx};
        if (static_cast<size_t>(idx + 1) * 2 > slots_.size()) grow();
        return idx;
      }
      if (e.fp == fp && std::equal(k, k + d_, key(e.index))) return e.index;
    }
  }

 private:
  struct Slot {
    uint32_t fp;
    int32_t index;
  };
  static uint32_t Fingerprint(uint64_t h) { return static_cast<uint32_t>(h >> 32); }

  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{0, -1});
    const size_t mask = slots_.size() - 1;
    for (const Slot& e : old) {
      if (e.index < 0) continue;
      size_t at = hash(key(e.index)) & mask;
      while (slots_[at].index >= 0) at = (at + 1) & mask;
      slots_[at] = e;
    }
  }

  int d_;
  std::vector<Slot> slots_;
  std::vector<int32_t> keys_;
};

class Permutohedral {
 public:
  // features: n points × d floats, already divided by the kernel's θ. The lattice then approximates the
  // filter Σ_j exp(-|f_i - f_j|² / 2) v_j. Geometry runs on `threads`; only the hash inserts are serial.
  void init(const float* features, int n, int d, int threads) {
    n_ = n;
    d_ = d;
    const size_t nv = static_cast<size_t>(n) * (d + 1);
    offset_.assign(nv, 0);
    bary_.assign(nv, 0.f);
    std::vector<int32_t> keys(nv * d);
    std::vector<uint64_t> hashes(nv);
    LatticeHash hash(d, nv / 2 + 16);

    // Scale so that one lattice step matches the Gaussian's std (Adams et al. 2010, §3.1 and p.5).
    const double inv_std = std::sqrt(2.0 / 3.0) * (d + 1);
    std::vector<float> scale(d);
    for (int i = 0; i < d; ++i) scale[i] = static_cast<float>(inv_std / std::sqrt(double(i + 1) * (i + 2)));

    ParallelFor(threads, n, [&](int, int lo, int hi) {
      std::vector<float> elevated(d + 1), bary(d + 2);
      std::vector<int32_t> rem0(d + 1), rank(d + 1);
      const float down = 1.f / (d + 1);
      const int up = d + 1;
      for (int k = lo; k < hi; ++k) {
        const float* f = features + static_cast<size_t>(k) * d;
        // Elevate onto the plane Σx = 0 in R^{d+1} (y = E f).
        float sm = 0;
        for (int j = d; j > 0; --j) {
          float cf = f[j - 1] * scale[j - 1];
          elevated[j] = sm - j * cf;
          sm += cf;
        }
        elevated[0] = sm;
        // Beyond this float has no sub-lattice precision left and keys could overflow int32.
        for (int i = 0; i <= d; ++i)
          if (!(std::fabs(elevated[i]) < 1e8f))
            throw std::range_error("kernel width too small for the feature range (lattice coordinates overflow)");
        // Nearest remainder-0 lattice point by rounding each coordinate to a multiple of d+1.
        int sum = 0;
        for (int i = 0; i <= d; ++i) {
          int rd = static_cast<int>(std::round(down * elevated[i]));
          rem0[i] = rd * up;
          sum += rd;
        }
        // Rank of each coordinate's residual identifies the enclosing simplex.
        std::fill(rank.begin(), rank.end(), 0);
        for (int i = 0; i < d; ++i) {
          float di = elevated[i] - rem0[i];
          for (int j = i + 1; j <= d; ++j) {
            if (di < elevated[j] - rem0[j])
              ++rank[i];
            else
              ++rank[j];
          }
        }
        // Rounding may leave the point off the plane (sum != 0): shift it back.
        for (int i = 0; i <= d; ++i) {
          rank[i] += sum;
          if (rank[i] < 0) {
            rank[i] += d + 1;
            rem0[i] += d + 1;
          } else if (rank[i] > d) {
            rank[i] -= d + 1;
            rem0[i] -= d + 1;
          }
        }
        // Barycentric coordinates within the simplex (Adams et al. 2010, p.10).
        std::fill(bary.begin(), bary.end(), 0.f);
        for (int i = 0; i <= d; ++i) {
          float v = (elevated[i] - rem0[i]) * down;
          bary[d - rank[i]] += v;
          bary[d - rank[i] + 1] -= v;
        }
        bary[0] += 1.f + bary[d + 1];
        // The simplex's d+1 vertices.
        for (int r = 0; r <= d; ++r) {
          const size_t at = static_cast<size_t>(k) * (d + 1) + r;
          int32_t* key = keys.data() + at * d;
          for (int i = 0; i < d; ++i) key[i] = rem0[i] + r - (rank[i] > d - r ? d + 1 : 0);
          hashes[at] = hash.hash(key);
          bary_[at] = bary[r];
        }
      }
    });
    for (size_t at = 0; at < nv; ++at) offset_[at] = hash.insert(keys.data() + at * d, hashes[at]);

    m_ = hash.size();
    // Neighbours of every vertex along each of the d+1 lattice axes (-1: absent, reads as zero).
    neighbours_.assign(static_cast<size_t>(d + 1) * m_ * 2, -1);
    ParallelFor(threads, m_, [&](int, int lo, int hi) {
      std::vector<int32_t> n1(d), n2(d);
      for (int j = lo; j < hi; ++j) {
        const int32_t* kj = hash.key(j);
        for (int axis = 0; axis <= d; ++axis) {
          for (int i = 0; i < d; ++i) {
            n1[i] = kj[i] - 1;
            n2[i] = kj[i] + 1;
          }
          if (axis < d) {
            n1[axis] = kj[axis] + d;
            n2[axis] = kj[axis] - d;
          }
          const size_t at = (static_cast<size_t>(axis) * m_ + j) * 2;
          neighbours_[at] = hash.find(n1.data(), hash.hash(n1.data()));
          neighbours_[at + 1] = hash.find(n2.data(), hash.hash(n2.data()));
        }
      }
    });
  }

  int points() const { return n_; }
  int vertices() const { return m_; }

  // out[i*out_stride + c] = Σ_j k(i,j) in[j*in_stride + c] for c in [0, vs). Buffers are caller-owned
  // scratch of (m+1)*vs floats each, so that threads filtering different channels do not allocate.
  void filter(const float* in, int in_stride, float* out, int out_stride, int vs, std::vector<float>& values,
              std::vector<float>& scratch) const {
    const int d = d_;
    const size_t len = static_cast<size_t>(m_ + 1) * vs;  // slot 0 is the always-zero "absent" vertex
    values.assign(len, 0.f);
    scratch.assign(len, 0.f);
    float* val = values.data();
    float* tmp = scratch.data();

    // Splat.
    for (int i = 0; i < n_; ++i) {
      const float* v = in + static_cast<size_t>(i) * in_stride;
      const int* off = offset_.data() + static_cast<size_t>(i) * (d + 1);
      const float* w = bary_.data() + static_cast<size_t>(i) * (d + 1);
      for (int r = 0; r <= d; ++r) {
        float* dst = val + static_cast<size_t>(off[r] + 1) * vs;
        const float wr = w[r];
        for (int c = 0; c < vs; ++c) dst[c] += wr * v[c];
      }
    }
    // Blur with [1/2, 1, 1/2] along each axis in turn.
    for (int axis = 0; axis <= d; ++axis) {
      const int* nb = neighbours_.data() + static_cast<size_t>(axis) * m_ * 2;
      for (int j = 0; j < m_; ++j) {
        const float* a = val + static_cast<size_t>(nb[2 * j] + 1) * vs;
        const float* b = val + static_cast<size_t>(nb[2 * j + 1] + 1) * vs;
        const float* o = val + static_cast<size_t>(j + 1) * vs;
        float* t = tmp + static_cast<size_t>(j + 1) * vs;
        for (int c = 0; c < vs; ++c) t[c] = o[c] + 0.5f * (a[c] + b[c]);
      }
      std::swap(val, tmp);
    }
    // Slice; alpha compensates the blur's gain (Adams et al.'s constant, as in densecrf).
    const float alpha = 1.f / (1.f + std::pow(2.f, -static_cast<float>(d)));
    for (int i = 0; i < n_; ++i) {
      float* dst = out + static_cast<size_t>(i) * out_stride;
      const int* off = offset_.data() + static_cast<size_t>(i) * (d + 1);
      const float* w = bary_.data() + static_cast<size_t>(i) * (d + 1);
      for (int c = 0; c < vs; ++c) dst[c] = 0.f;
      for (int r = 0; r <= d; ++r) {
        const float* src = val + static_cast<size_t>(off[r] + 1) * vs;
        const float wr = w[r] * alpha;
        for (int c = 0; c < vs; ++c) dst[c] += wr * src[c];
      }
    }
  }

 private:
  int n_ = 0, d_ = 0, m_ = 0;
  std::vector<int> offset_;
  std::vector<float> bary_;
  std::vector<int> neighbours_;
};

// A Gaussian kernel with Potts compatibility and symmetric normalisation: message = w·D K D Q with
// D = diag(1/sqrt(K·1)), so each message is close to a weighted neighbourhood average of Q.
struct Kernel {
  Permutohedral lattice;
  std::vector<float> norm;
  float weight = 0;

  void init(const float* features, int n, int d, float w, int threads) {
    weight = w;
    lattice.init(features, n, d, threads);
    std::vector<float> ones(n, 1.f), values, scratch;
    norm.assign(n, 0.f);
    lattice.filter(ones.data(), 1, norm.data(), 1, 1, values, scratch);
    for (float& v : norm) v = 1.f / std::sqrt(v + 1e-20f);
  }
};

struct CrfParams {
  int iterations = 10;
  float w1 = 4.f, theta_alpha = 67.f, theta_beta = 3.f;
  float w2 = 3.f, theta_gamma = 3.f;
  float min_prob = 1e-5f;
  int threads = 0;  // 0: hardware concurrency
};

// probs and out: C×H×W (planar). image: H×W×3. out may not alias probs.
void DenseCrf(const uint8_t* image, int width, int height, const float* probs, int classes, const CrfParams& p,
              float* out) {
  const int n = width * height;
  const int c = classes;
  int threads = p.threads > 0 ? p.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min(threads, 16));

  // −unary = log p, label-major (c × n) like the per-iteration logits: each thread then writes one contiguous
  // block of labels, with no false sharing. Q is pixel-major (n × c) so that a pixel's labels are
  // contiguous for splatting.
  std::vector<float> log_p(static_cast<size_t>(n) * c);
  for (size_t j = 0; j < log_p.size(); ++j) {
    const float v = probs[j];
    log_p[j] = std::log(v > p.min_prob ? std::min(v, 1.f) : p.min_prob);  // NaN → min_prob
  }

  std::vector<float> q(log_p.size()), logits(log_p.size());
  auto softmax = [&](const float* in, int lo, int hi) {
    std::vector<float> l(c);
    for (int i = lo; i < hi; ++i) {
      for (int k = 0; k < c; ++k) l[k] = in[static_cast<size_t>(k) * n + i];
      float* o = q.data() + static_cast<size_t>(i) * c;
      float mx = -std::numeric_limits<float>::infinity();
      for (int k = 0; k < c; ++k) mx = std::max(mx, l[k]);
      float s = 0;
      for (int k = 0; k < c; ++k) s += (o[k] = std::exp(l[k] - mx));
      const float inv = 1.f / s;
      for (int k = 0; k < c; ++k) o[k] *= inv;
    }
  };
  ParallelFor(threads, n, [&](int, int lo, int hi) { softmax(log_p.data(), lo, hi); });

  if (p.iterations > 0) {
    std::vector<Kernel> kernels;
    kernels.reserve(2);
    if (p.w1 != 0.f) {
      std::vector<float> f(static_cast<size_t>(n) * 5);
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
          size_t i = static_cast<size_t>(y) * width + x;
          f[i * 5 + 0] = x / p.theta_alpha;
          f[i * 5 + 1] = y / p.theta_alpha;
          for (int ch = 0; ch < 3; ++ch) f[i * 5 + 2 + ch] = image[i * 3 + ch] / p.theta_beta;
        }
      kernels.emplace_back();
      kernels.back().init(f.data(), n, 5, p.w1, threads);
    }
    if (p.w2 != 0.f) {
      std::vector<float> f(static_cast<size_t>(n) * 2);
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
          size_t i = static_cast<size_t>(y) * width + x;
          f[i * 2 + 0] = x / p.theta_gamma;
          f[i * 2 + 1] = y / p.theta_gamma;
        }
      kernels.emplace_back();
      kernels.back().init(f.data(), n, 2, p.w2, threads);
    }

    // Threads split the labels: each filters its own label range end to end, so no locking is needed.
    const int workers = std::max(1, std::min(threads, c));
    std::vector<std::vector<float>> in_buf(workers), msg_buf(workers), values(workers), scratch(workers);
    for (int it = 0; it < p.iterations; ++it) {
      ParallelFor(workers, c, [&](int t, int lo, int hi) {
        const int vs = hi - lo;
        std::vector<float>& in = in_buf[t];
        std::vector<float>& msg = msg_buf[t];
        in.resize(static_cast<size_t>(n) * vs);
        msg.resize(static_cast<size_t>(n) * vs);
        float* lg = logits.data() + static_cast<size_t>(lo) * n;
        std::copy(log_p.begin() + static_cast<size_t>(lo) * n, log_p.begin() + static_cast<size_t>(hi) * n, lg);
        for (const Kernel& K : kernels) {
          for (int i = 0; i < n; ++i) {
            const float s = K.norm[i];
            const float* qi = q.data() + static_cast<size_t>(i) * c + lo;
            float* d = in.data() + static_cast<size_t>(i) * vs;
            for (int k = 0; k < vs; ++k) d[k] = s * qi[k];
          }
          K.lattice.filter(in.data(), vs, msg.data(), vs, vs, values[t], scratch[t]);
          // Potts: label l's energy drops by w·(filtered Q_l); the Σ_l' term is equal for all labels.
          for (int i = 0; i < n; ++i) {
            const float s = K.weight * K.norm[i];
            const float* m = msg.data() + static_cast<size_t>(i) * vs;
            for (int k = 0; k < vs; ++k) lg[static_cast<size_t>(k) * n + i] += s * m[k];
          }
        }
      });
      ParallelFor(threads, n, [&](int, int lo, int hi) { softmax(logits.data(), lo, hi); });
    }
  }

  for (int k = 0; k < c; ++k) {
    float* dst = out + static_cast<size_t>(k) * n;
    for (int i = 0; i < n; ++i) dst[i] = q[static_cast<size_t>(i) * c + k];
  }
}

// ---------------------------------------------------------------------------------------------------------
// N-API glue: denseCrf(image: Uint8Array HWC RGB, width, height, probs: Float32Array C×H×W, numClasses,
//                      options?) -> Float32Array C×H×W

[[noreturn]] void Fail(Napi::Env env, const std::string& msg) { throw Napi::Error::New(env, "denseCrf: " + msg); }
[[noreturn]] void FailType(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "denseCrf: " + msg);
}

int64_t PositiveInt(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) FailType(v.Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < 1 || d > 2147483647.0)
    Fail(v.Env(), std::string(name) + " must be a positive integer, got " + v.ToString().Utf8Value());
  return static_cast<int64_t>(d);
}

// Reads options[name] when present; `positive` also demands > 0 (kernel widths).
float OptionFloat(const Napi::Object& o, const char* name, float dflt, bool positive) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber()) FailType(o.Env(), std::string("options.") + name + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || (positive ? d <= 0 : false))
    Fail(o.Env(), std::string("options.") + name + (positive ? " must be a finite number > 0" : " must be finite") +
                      ", got " + v.ToString().Utf8Value());
  return static_cast<float>(d);
}

int OptionInt(const Napi::Object& o, const char* name, int dflt, int max) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber()) FailType(o.Env(), std::string("options.") + name + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > max)
    Fail(o.Env(), std::string("options.") + name + " must be an integer in [0, " + std::to_string(max) + "], got " +
                      v.ToString().Utf8Value());
  return static_cast<int>(d);
}

Napi::Value DenseCrfJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) FailType(env, "expected (image, width, height, probs, numClasses, options?)");
  const Napi::Value img = info[0];
  if (!img.IsTypedArray()) FailType(env, "image must be a Uint8Array (H×W×3 RGB)");
  Napi::TypedArray img_ta = img.As<Napi::TypedArray>();
  if (img_ta.TypedArrayType() != napi_uint8_array && img_ta.TypedArrayType() != napi_uint8_clamped_array)
    FailType(env, "image must be a Uint8Array (H×W×3 RGB)");
  const int64_t width = PositiveInt(info[1], "width");
  const int64_t height = PositiveInt(info[2], "height");
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    FailType(env, "probs must be a Float32Array (C×H×W)");
  Napi::Float32Array probs = info[3].As<Napi::Float32Array>();
  const int64_t classes = PositiveInt(info[4], "numClasses");

  const int64_t n = width * height;
  if (n > (int64_t{1} << 28)) Fail(env, "image too large (" + std::to_string(n) + " pixels)");
  if (classes > 4096) Fail(env, "numClasses must be at most 4096, got " + std::to_string(classes));
  if (static_cast<int64_t>(img_ta.ElementLength()) != n * 3)
    Fail(env, "image has " + std::to_string(img_ta.ElementLength()) + " bytes, expected width×height×3 = " +
                  std::to_string(width) + "×" + std::to_string(height) + "×3 = " + std::to_string(n * 3));
  if (static_cast<int64_t>(probs.ElementLength()) != n * classes)
    Fail(env, "probs has " + std::to_string(probs.ElementLength()) +
                  " values, expected numClasses×height×width = " + std::to_string(classes) + "×" +
                  std::to_string(height) + "×" + std::to_string(width) + " = " + std::to_string(n * classes));

  CrfParams p;
  if (info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull()) {
    if (!info[5].IsObject()) FailType(env, "options must be an object");
    Napi::Object o = info[5].As<Napi::Object>();
    p.iterations = OptionInt(o, "iterations", p.iterations, 1000);
    p.w1 = OptionFloat(o, "w1", p.w1, false);
    p.theta_alpha = OptionFloat(o, "thetaAlpha", p.theta_alpha, true);
    p.theta_beta = OptionFloat(o, "thetaBeta", p.theta_beta, true);
    p.w2 = OptionFloat(o, "w2", p.w2, false);
    p.theta_gamma = OptionFloat(o, "thetaGamma", p.theta_gamma, true);
    p.min_prob = OptionFloat(o, "minProb", p.min_prob, true);
    p.threads = OptionInt(o, "threads", 0, 1024);
    if (p.min_prob >= 1.f) Fail(env, "options.minProb must be < 1");
  }

  const uint8_t* image = static_cast<const uint8_t*>(img_ta.ArrayBuffer().Data()) + img_ta.ByteOffset();
  Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(n * classes));
  try {
    // out is a fresh buffer, so it never aliases probs.
    DenseCrf(image, static_cast<int>(width), static_cast<int>(height), probs.Data(), static_cast<int>(classes), p,
             out.Data());
  } catch (const std::bad_alloc&) {
    Fail(env, "out of memory");
  } catch (const std::exception& e) {
    Fail(env, e.what());
  }
  return out;
}

}  // namespace

void RegisterCrf(Napi::Env env, Napi::Object exports) {
  exports.Set("denseCrf", Napi::Function::New(env, DenseCrfJs, "denseCrf"));
}

}  // namespace aepsl
