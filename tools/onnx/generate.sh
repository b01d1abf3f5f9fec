#!/bin/sh
# Regenerates Sources/WeightFiles/ONNX/onnx.pb.swift from tools/onnx/onnx.proto.
# onnx.proto is copied verbatim from the `onnx` pip package 1.23.2 (onnx/onnx.proto, proto2,
# IR_VERSION 14). Tools used for the committed file: Debian 12 protobuf-compiler (libprotoc
# 3.21.12) and protoc-gen-swift 1.39.0 built from apple/swift-protobuf at tag 1.39.0:
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && git checkout 1.39.0 && swift build -c release --product protoc-gen-swift)
# Run from the repository root:
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift tools/onnx/generate.sh
# The build never runs this: the generated file is committed.
set -eu
PLUGIN=${PROTOC_GEN_SWIFT:-/tmp/swift-protobuf/.build/release/protoc-gen-swift}
protoc --plugin=protoc-gen-swift="$PLUGIN" \
  --proto_path=tools/onnx \
  --swift_opt=Visibility=Internal \
  --swift_out=Sources/WeightFiles/ONNX \
  tools/onnx/onnx.proto
