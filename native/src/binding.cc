#include "common.h"

namespace aepsl {

torch::ScalarType DTypeOf(const Napi::Value& v) {
  const std::string s = Str(v);
  if (s == "float32") return torch::kFloat;
  if (s == "float64") return torch::kDouble;
  if (s == "float16") return torch::kHalf;
  if (s == "int64") return torch::kLong;
  if (s == "int32") return torch::kInt;
  if (s == "uint8") return torch::kByte;
  if (s == "bool") return torch::kBool;
  throw Napi::TypeError::New(v.Env(), "unknown dtype '" + s + "' (float32, float64, float16, int64, int32, uint8, bool)");
}

std::string DTypeName(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "float32";
    case torch::kDouble: return "float64";
    case torch::kHalf: return "float16";
    case torch::kLong: return "int64";
    case torch::kInt: return "int32";
    case torch::kByte: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(t);
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterTensorOps(env, exports);
  RegisterNnOps(env, exports);
  RegisterCrf(env, exports);
  RegisterDeviceOps(env, exports);
  return exports;
}

}  // namespace aepsl

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return aepsl::Init(env, exports); }

NODE_API_MODULE(aepsl, InitAddon)
