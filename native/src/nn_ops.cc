// Neural-network ops with autograd: convolution, normalisation, pooling, resampling, losses.
#include "common.h"

namespace aepsl {
namespace {

namespace F = torch::nn::functional;

torch::Reduction::Reduction ReductionOf(const Napi::Value& v) {
  const std::string s = Str(v);
  if (s == "mean") return torch::Reduction::Mean;
  if (s == "sum") return torch::Reduction::Sum;
  if (s == "none") return torch::Reduction::None;
  throw Napi::TypeError::New(v.Env(), "reduction must be 'mean', 'sum' or 'none', got '" + s + "'");
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  // conv2d(x, w, b|null, stride[2], padding[2], dilation[2], groups)
  std::optional<torch::Tensor> b = OptT(info[2]);
  return Wrap(info.Env(), torch::conv2d(T(info[0]), T(info[1]), b.value_or(torch::Tensor()), Ints(info[3]),
                                        Ints(info[4]), Ints(info[5]), I64(info[6])));
}

Napi::Value Pad(const Napi::CallbackInfo& info) {
  // pad(x, [left, right, top, bottom, ...], value): constant padding, e.g. TFLite's asymmetric SAME.
  return Wrap(info.Env(), torch::constant_pad_nd(T(info[0]), Ints(info[1]), F64(info[2])));
}

Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  // batchNorm(x, weight|null, bias|null, runningMean|null, runningVar|null, training, momentum, eps)
  auto w = OptT(info[1]), b = OptT(info[2]), rm = OptT(info[3]), rv = OptT(info[4]);
  return Wrap(info.Env(), torch::batch_norm(T(info[0]), w.value_or(torch::Tensor()), b.value_or(torch::Tensor()),
                                            rm.value_or(torch::Tensor()), rv.value_or(torch::Tensor()), Bool(info[5]),
                                            F64(info[6]), F64(info[7]),
                                            // only consulted for CUDA tensors: cuDNN's kernel there, as PyTorch does
                                            /*cudnn_enabled=*/at::globalContext().userEnabledCuDNN()));
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  // maxPool2d(x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
  return Wrap(info.Env(), torch::max_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), Ints(info[4]), Bool(info[5])));
}

Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  // avgPool2d(x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad)
  return Wrap(info.Env(), torch::avg_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), Bool(info[4]), Bool(info[5])));
}

Napi::Value AdaptiveAvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::adaptive_avg_pool2d(T(info[0]), Ints(info[1])));
}

Napi::Value AdaptiveMaxPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), std::get<0>(torch::adaptive_max_pool2d(T(info[0]), Ints(info[1]))));
}

Napi::Value Interpolate(const Napi::CallbackInfo& info) {
  // interpolate(x, size[2], mode 'bilinear'|'nearest', alignCorners)
  const std::string mode = Str(info[2]);
  auto opts = F::InterpolateFuncOptions().size(Ints(info[1]));
  if (mode == "bilinear") opts = opts.mode(torch::kBilinear).align_corners(Bool(info[3]));
  else if (mode == "nearest") opts = opts.mode(torch::kNearest);
  else throw Napi::TypeError::New(info.Env(), "interpolate mode must be 'bilinear' or 'nearest', got '" + mode + "'");
  return Wrap(info.Env(), F::interpolate(T(info[0]), opts));
}

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::dropout(T(info[0]), F64(info[1]), Bool(info[2])));
}

Napi::Value Linear(const Napi::CallbackInfo& info) {
  std::optional<torch::Tensor> b = OptT(info[2]);
  return Wrap(info.Env(), torch::linear(T(info[0]), T(info[1]), b.value_or(torch::Tensor())));
}

Napi::Value Softmax(const Napi::CallbackInfo& info) { return Wrap(info.Env(), torch::softmax(T(info[0]), I64(info[1]))); }
Napi::Value LogSoftmax(const Napi::CallbackInfo& info) { return Wrap(info.Env(), torch::log_softmax(T(info[0]), I64(info[1]))); }

Napi::Value BceWithLogits(const Napi::CallbackInfo& info) {
  // bceWithLogits(logits, target, weight|null, posWeight|null, reduction)
  auto w = OptT(info[2]), pw = OptT(info[3]);
  return Wrap(info.Env(), torch::binary_cross_entropy_with_logits(T(info[0]), T(info[1]), w.value_or(torch::Tensor()),
                                                                  pw.value_or(torch::Tensor()), ReductionOf(info[4])));
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  // crossEntropy(logits [N,C,...], target int64 [N,...], classWeight|null, ignoreIndex, reduction)
  auto w = OptT(info[2]);
  return Wrap(info.Env(), torch::cross_entropy_loss(T(info[0]), T(info[1]), w.value_or(torch::Tensor()),
                                                    ReductionOf(info[4]), I64(info[3])));
}

Napi::Value MseLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), torch::mse_loss(T(info[0]), T(info[1]), ReductionOf(info[2])));
}

}  // namespace

void RegisterNnOps(Napi::Env env, Napi::Object exports) {
  Export<Conv2d>(env, exports, "conv2d");
  Export<Pad>(env, exports, "pad");
  Export<BatchNorm>(env, exports, "batchNorm");
  Export<MaxPool2d>(env, exports, "maxPool2d");
  Export<AvgPool2d>(env, exports, "avgPool2d");
  Export<AdaptiveAvgPool2d>(env, exports, "adaptiveAvgPool2d");
  Export<AdaptiveMaxPool2d>(env, exports, "adaptiveMaxPool2d");
  Export<Interpolate>(env, exports, "interpolate");
  Export<Dropout>(env, exports, "dropout");
  Export<Linear>(env, exports, "linear");
  Export<Softmax>(env, exports, "softmax");
  Export<LogSoftmax>(env, exports, "logSoftmax");
  Export<BceWithLogits>(env, exports, "bceWithLogits");
  Export<CrossEntropy>(env, exports, "crossEntropy");
  Export<MseLoss>(env, exports, "mseLoss");
}

}  // namespace aepsl
