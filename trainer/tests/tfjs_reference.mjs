import fs from 'fs'; const P=globalThis.process; globalThis.process=undefined; const tf=await import('/work/main/node_modules/@vladmandic/human/dist/tfjs.esm.js'); globalThis.process=P;
tf.setPlatform('custom', {fetch:()=>{throw new Error('no fetch')}, now:()=>performance.now(), encode:(s)=>new TextEncoder().encode(s), decode:(b,e)=>new TextDecoder(e).decode(b), isTypedArray:(a)=>ArrayBuffer.isView(a)&&!(a instanceof DataView), setTimeoutCustom:(f,t)=>setTimeout(f,t)});
const dir='/work/main/node_modules/@vladmandic/human/models/';
const json=JSON.parse(fs.readFileSync(dir+'centernet.json'));
const bin=fs.readFileSync(dir+'centernet.bin');
await tf.setBackend('cpu');
const handler=tf.io.fromMemory({modelTopology:json.modelTopology,weightSpecs:json.weightsManifest[0].weights,weightData:bin.buffer.slice(bin.byteOffset,bin.byteOffset+bin.length),signature:json.signature});
const m=await tf.loadGraphModel(handler);
const raw=fs.readFileSync('/tmp/in512.f32');
const x=tf.tensor(new Float32Array(raw.buffer,raw.byteOffset,512*512*3),[1,512,512,3]);
const t0=Date.now();
const outs=await m.executeAsync(x,['tower_0/keypoints','tower_0/wh','tower_0/detections']);
console.log('ms',Date.now()-t0, tf.getBackend());
const names=['kp','wh','det'];
for (let i=0;i<3;i++){ fs.writeFileSync('/tmp/tf_'+names[i]+'.f32', Buffer.from((await outs[i].data()).buffer)); console.log(names[i],outs[i].shape);}
