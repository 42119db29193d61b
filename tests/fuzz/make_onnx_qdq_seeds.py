#!/usr/bin/env python3
"""Writes the two QDQ seeds of fuzz_onnx's corpus (tests/fuzz/corpus/onnx/):

  test_qdq_conv_chain.onnx   x -> QuantizeLinear -> QLinearConv (per-channel
                             int8 weights, int32 bias, pads) -> per-axis
                             DequantizeLinear, parameters as initializers
  test_qdq_integer_ops.onnx  x -> DynamicQuantizeLinear -> MatMulInteger,
                             QLinearMatMul (per-column B), ConvInteger

so that the fuzzer reaches the kernels of src/nn/cpu/ops_quant_linear.c
(the onnx package's node tests take their scales as graph inputs, which the
fuzzer's run fills with small values, 0 among them). A hand-written
protobuf encoder, no onnx package needed.

    python3 tests/fuzz/make_onnx_qdq_seeds.py tests/fuzz/corpus/onnx
"""
import struct
import sys


def varint(v):
    v &= (1<<64)-1; out=b''
    while True:
        b=v&0x7f; v>>=7
        if v: out+=bytes([b|0x80])
        else: return out+bytes([b])
def key(f,w): return varint(f<<3|w)
def ld(f,b): return key(f,2)+varint(len(b))+b
def i(f,v): return key(f,0)+varint(v)
def s(f,x): return ld(f,x.encode())
def vinfo(name, et, dims):
    sh=b''.join(ld(1,i(1,d)) for d in dims)
    return s(1,name)+ld(2, ld(1, i(1,et)+ld(2,sh)))
def tensor(name, dt, dims, raw):
    return b''.join(i(1,d) for d in dims)+i(2,dt)+s(8,name)+ld(9,raw)
def attr_int(n,v): return s(1,n)+i(3,v)+i(20,2)
def attr_ints(n,vs): return s(1,n)+b''.join(i(8,v) for v in vs)+i(20,7)
def node(op, ins, outs, attrs=()):
    return b''.join(s(1,x) for x in ins)+b''.join(s(2,x) for x in outs)+s(4,op)+b''.join(ld(5,a) for a in attrs)
def model(nodes, inits, ins, outs, opset=13):
    g=b''.join(ld(1,n) for n in nodes)+s(2,'g')+b''.join(ld(5,t) for t in inits)
    g+=b''.join(ld(11,vinfo(*x)) for x in ins)+b''.join(ld(12,vinfo(*x)) for x in outs)
    return i(1,8)+ld(8,i(2,opset))+ld(7,g)
F,U8,I8,I32=1,2,3,6
f=lambda *v: struct.pack('<%df'%len(v),*v)
# seed 1: QDQ conv: x [1,2,3,3] -> Quantize -> QLinearConv (per-channel int8 w, bias, pads 1) -> Dequantize per-axis
m1=model([
  node('QuantizeLinear',['x','xs','xz'],['q']),
  node('QLinearConv',['q','xs','xz','w','ws','wz','ys','yz','b'],['c'],[attr_ints('pads',[1,1,1,1])]),
  node('DequantizeLinear',['c','ds','dz'],['y'],[attr_int('axis',1)]),
],[tensor('xs',F,[],f(0.05)),tensor('xz',U8,[],bytes([128])),
   tensor('w',I8,[2,2,2,2],bytes([1,255,3,4,250,6,7,8,9,10,128,12,13,14,15,127])),
   tensor('ws',F,[2],f(0.01,0.02)),tensor('wz',I8,[2],bytes([0,0])),
   tensor('ys',F,[],f(0.1)),tensor('yz',I8,[],bytes([251])),
   tensor('b',I32,[2],struct.pack('<2i',100,-50)),
   tensor('ds',F,[2],f(0.1,0.2)),tensor('dz',I8,[2],bytes([251,3]))],
  [('x',F,[1,2,3,3])],[('y',F,[1,2,4,4])])
# seed 2: integer matmul/conv: x [2,4] -> DynamicQuantizeLinear -> MatMulInteger / QLinearMatMul; ConvInteger on a 1-D reshape
m2=model([
  node('DynamicQuantizeLinear',['x'],['q','qs','qz']),
  node('MatMulInteger',['q','b','qz','bz'],['mi']),
  node('QLinearMatMul',['q','qs','qz','b','bs','bz','ys','yz'],['y']),
  node('ConvInteger',['q3','cw','qz'],['ci'],[attr_ints('pads',[1,1])]),
  node('Unsqueeze',['q','ax'],['q3']),
],[tensor('b',U8,[4,3],bytes(range(0,240,20))),tensor('bz',U8,[3],bytes([10,0,200])),
   tensor('bs',F,[3],f(0.1,0.2,0.3)),tensor('ys',F,[],f(0.5)),tensor('yz',U8,[],bytes([7])),
   tensor('cw',U8,[3,2,3],bytes(range(18))),tensor('ax',7,[1],struct.pack('<q',0))],
  [('x',F,[2,4])],[('y',U8,[2,3]),('mi',I32,[2,3]),('ci',I32,[1,3,4])])
open(sys.argv[1]+'/test_qdq_conv_chain.onnx','wb').write(m1)
open(sys.argv[1]+'/test_qdq_integer_ops.onnx','wb').write(m2)
