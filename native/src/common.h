// Shared helpers of the aepsl addon: tensor handles, argument parsing and error translation.
// A tensor crosses into JS as an External holding a torch::Tensor; JS disposes it deterministically
// (Holder::t reset) and the External's finalizer is only a safety net.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

namespace aepsl {

struct Holder {
  torch::Tensor t;
};

inline Holder* HolderOf(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a tensor handle");
  return v.As<Napi::External<Holder>>().Data();
}

inline torch::Tensor& T(const Napi::Value& v) {
  Holder* h = HolderOf(v);
  if (!h->t.defined()) throw Napi::Error::New(v.Env(), "tensor was disposed");
  return h->t;
}

inline std::optional<torch::Tensor> OptT(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  return T(v);
}

inline Napi::Value Wrap(Napi::Env env, torch::Tensor t) {
  return Napi::External<Holder>::New(env, new Holder{std::move(t)}, [](Napi::Env, Holder* h) { delete h; });
}

inline Napi::Value WrapList(Napi::Env env, const std::vector<torch::Tensor>& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out.Set(i, Wrap(env, ts[i]));
  return out;
}

inline int64_t I64(const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "expected a number");
  return v.As<Napi::Number>().Int64Value();
}

inline double F64(const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

inline bool Bool(const Napi::Value& v) { return v.ToBoolean().Value(); }

inline std::string Str(const Napi::Value& v) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), "expected a string");
  return v.As<Napi::String>().Utf8Value();
}

inline std::vector<int64_t> Ints(const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out[i] = I64(a.Get(i));
  return out;
}

inline std::vector<torch::Tensor> Tensors(const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an array of tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<torch::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(T(a.Get(i)));
  return out;
}

torch::ScalarType DTypeOf(const Napi::Value& v);
// A device string ("cpu", "cuda", "cuda:1"); undefined/null keeps the options' default (CPU).
torch::Device DeviceOf(const Napi::Value& v);
torch::TensorOptions OptsOn(torch::TensorOptions o, const Napi::Value& device);
std::string DTypeName(torch::ScalarType t);

// A JS number used as an operand behaves like a Python number: a "wrapped" scalar that does not promote
// a float32 tensor to float64.
inline torch::Tensor ScalarOperand(double v) {
  torch::Tensor t = torch::scalar_tensor(v, torch::kDouble);
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

inline torch::Tensor TensorOrScalar(const Napi::Value& v) {
  if (v.IsNumber()) return ScalarOperand(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return ScalarOperand(v.As<Napi::Boolean>().Value() ? 1.0 : 0.0);
  return T(v);
}

using Callback = Napi::Value (*)(const Napi::CallbackInfo&);

// Every exported function runs inside this guard: libtorch errors become JS Errors with libtorch's message
// (without the C++ backtrace), so nothing aborts the Node process.
template <Callback F>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

template <Callback F>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, Guarded<F>, name));
}

void RegisterTensorOps(Napi::Env env, Napi::Object exports);
void RegisterNnOps(Napi::Env env, Napi::Object exports);
void RegisterCrf(Napi::Env env, Napi::Object exports);
void RegisterDeviceOps(Napi::Env env, Napi::Object exports);

}  // namespace aepsl
