// Package onnxpb holds the ONNX protobuf types, generated from onnx.proto
// (copied from Debian's python3-onnx, ONNX IR version 8+) by protoc-gen-go.
//
// Regenerate with: go generate ./pipeline/onnx/onnxpb (needs protoc and protoc-gen-go).
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/stylize/stylize/pipeline/onnx/onnxpb onnx.proto
