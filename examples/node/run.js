// Run an exported zssr-deploy model (the whole ZSSR inference in one ONNX graph) from Node.js.
//
//   npm install --ignore-scripts      # CPU binaries ship in the package; the install script only
//                                     # fetches optional CUDA binaries from nuget.org
//   node run.js MODEL.onnx INPUT.f32 H W C OUTPUT.f32
//
// INPUT.f32: the LR image as raw little-endian float32, HxWxC (interleaved), values in [0, 1].
// OUTPUT.f32: the SR image in the same layout; its size is printed as "H' W' C" on stdout.
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const [modelPath, inPath, hs, ws, cs, outPath] = process.argv.slice(2);
  if (!outPath) {
    console.error("usage: node run.js MODEL.onnx INPUT.f32 H W C OUTPUT.f32");
    process.exit(2);
  }
  const [h, w, c] = [hs, ws, cs].map(Number);
  const buf = fs.readFileSync(inPath);
  const hwc = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  if (hwc.length !== h * w * c) throw new Error(`expected ${h * w * c} floats, got ${hwc.length}`);
  // HxWxC -> 1xCxHxW, the graph's input layout
  const chw = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) chw[k * h * w + y * w + x] = hwc[(y * w + x) * c + k];
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ["cpu"] });
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", chw, [1, c, h, w]) };
  const result = await session.run(feeds);
  const out = result[session.outputNames[0]];
  const [, oc, oh, ow] = out.dims;
  const data = out.data;
  const ohwc = new Float32Array(oh * ow * oc);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++)
      for (let k = 0; k < oc; k++) ohwc[(y * ow + x) * oc + k] = data[k * oh * ow + y * ow + x];
  fs.writeFileSync(outPath, Buffer.from(ohwc.buffer));
  console.log(`${oh} ${ow} ${oc}`);
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
