// Builds an ONNX GraphProto with the official onnx.proto schema as compiled for protobufjs by the
// onnx-proto package: nodes, initializers (raw little-endian data) and attributes, with unique names.
import { createRequire } from 'node:module';
import type onnxProto from 'onnx-proto';
import type { Tensor } from '../../tensor/tensor.js';

type OnnxSchema = typeof onnxProto.onnx;
let schema: OnnxSchema | undefined;

/**
 * The onnx.proto namespace, loaded on first use: protobufjs and the compiled schema take ~0.1 s to
 * load, which every CLI command (training included) would otherwise pay at start-up.
 */
export function onnxSchema(): OnnxSchema {
  schema ??= (createRequire(import.meta.url)('onnx-proto') as typeof onnxProto).onnx;
  return schema;
}

/** ONNX TensorProto.DataType values we write (the enum's numbers, fixed by onnx.proto). */
const FLOAT = 1;
const INT64 = 7;

/** An attribute value, typed explicitly (ONNX distinguishes INT from FLOAT). */
export type Attribute =
  { int: number } | { float: number } | { ints: readonly number[] } | { string: string };

export class GraphBuilder {
  readonly nodes: InstanceType<OnnxSchema['NodeProto']>[] = [];
  readonly initializers: InstanceType<OnnxSchema['TensorProto']>[] = [];
  private readonly used = new Set<string>();

  /** `wanted`, or `wanted_1`, `wanted_2`, ... when taken. */
  unique(wanted: string): string {
    const base = wanted.replace(/[^A-Za-z0-9_./-]/g, '_');
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a graph input or output name. */
  reserve(name: string): string {
    this.used.add(name);
    return name;
  }

  /** A float32 initializer of `shape` ([] for a scalar). */
  floats(wanted: string, shape: readonly number[], values: ArrayLike<number>): string {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
    return this.initializer(wanted, FLOAT, shape, bytes);
  }

  /** A 1-D int64 initializer (shapes for Reshape). */
  int64s(wanted: string, values: readonly number[]): string {
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    return this.initializer(wanted, INT64, [values.length], bytes);
  }

  private initializer(
    wanted: string,
    dataType: number,
    shape: readonly number[],
    rawData: Uint8Array,
  ): string {
    const name = this.unique(wanted);
    this.initializers.push(onnxSchema().TensorProto.create({ name, dataType, dims: [...shape], rawData }));
    return name;
  }

  /** Appends a node; returns its (single) output's name, `output` when given. */
  node(
    opType: string,
    inputs: readonly string[],
    wanted: string,
    attributes: Record<string, Attribute> = {},
    output?: string,
  ): string {
    const name = this.unique(wanted);
    const out = output ?? name;
    const attribute = Object.entries(attributes).map(([key, value]) => attributeProto(key, value));
    this.nodes.push(
      onnxSchema().NodeProto.create({ name, opType, input: [...inputs], output: [out], attribute }),
    );
    return out;
  }
}

function attributeProto(name: string, value: Attribute): InstanceType<OnnxSchema['AttributeProto']> {
  const { AttributeProto } = onnxSchema();
  const Type = AttributeProto.AttributeType;
  if ('int' in value) return AttributeProto.create({ name, type: Type.INT, i: value.int });
  if ('float' in value) return AttributeProto.create({ name, type: Type.FLOAT, f: value.float });
  if ('ints' in value) return AttributeProto.create({ name, type: Type.INTS, ints: [...value.ints] });
  return AttributeProto.create({ name, type: Type.STRING, s: new TextEncoder().encode(value.string) });
}

/** A float32 tensor ValueInfo; string dimensions are symbolic (the batch 'N'). */
export function tensorValueInfo(
  name: string,
  dims: readonly (number | string)[],
): InstanceType<OnnxSchema['ValueInfoProto']> {
  return onnxSchema().ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

/** HWIO [KH, KW, C, F] -> OIHW [F, C, KH, KW]. */
export function hwioToOihw(kernel: Tensor): Float32Array {
  const [kh, kw, c, f] = kernel.shape as [number, number, number, number];
  const src = kernel.data;
  const out = new Float32Array(src.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < c; i++)
        for (let o = 0; o < f; o++)
          out[((o * c + i) * kh + y) * kw + x] = src[((y * kw + x) * c + i) * f + o] as number;
  return out;
}
