/**
 * validate (gpu queue): mAP of the candidate, the deployed and the pre-trained student on the
 * dataset's val split (teacher labels; optionally human ground truth), interleaved latency, the
 * gate decision, a registry version (idempotent per workflow run) and the HTML/JSON report.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactRef } from '../src/artifacts/ref.js';
import { decideGate } from '../src/gate/gate.js';
import { loadFrame } from '../src/detect/load-frame.js';
import { classMapper, createStudentDetector } from '../src/detect/teacher-model.js';
import { groundTruthForFrame, readGroundTruth } from '../src/metrics/ground-truth.js';
import { measureLatency } from '../src/metrics/latency.js';
import { evaluateDetections, type DetBox, type EvalImage, type GtBox, type MapResult } from '../src/metrics/map.js';
import type { AnnotateResult, ModelMetrics, RunContext, TrainResult, ValidateResult } from '../src/pipeline/types.js';
import { ModelRegistry } from '../src/registry/registry.js';
import { writeReport, type ReportFrame, type ReportModelRow } from '../src/report/report.js';
import { edgeDir } from '../src/edge/deploy.js';
import type { ActivityDeps } from '../src/worker/deps.js';

interface DatasetJson {
  cameraId?: string;
  classes: string[];
  frames: { name: string; t: number; split: 'train' | 'val' }[];
  width: number;
  height: number;
  fps?: number;
  teacher?: { id?: string; name?: string } & Record<string, unknown>;
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity (tests, CLI): nothing to report to
  }
}

async function teacherLabels(dir: string, name: string, ds: DatasetJson): Promise<GtBox[]> {
  let text = '';
  try {
    text = await readFile(path.join(dir, 'labels', `${name}.txt`), 'utf8');
  } catch {
    return []; // no label file: an empty frame
  }
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [c, cx, cy, w, hh] = l.trim().split(/\s+/).map(Number) as [number, number, number, number, number];
      return { cls: c, box: [(cx - w / 2) * ds.width, (cy - hh / 2) * ds.height, (cx + w / 2) * ds.width, (cy + hh / 2) * ds.height] };
    });
}

const toMetrics = (r: MapResult, latencyMs: number, frames: number): ModelMetrics => ({
  map50: r.map50,
  map5095: r.map5095,
  perClass: Object.fromEntries(Object.entries(r.perClass).map(([k, v]) => [k, { ap50: v.ap50, ap5095: v.ap5095 }])),
  latencyMs,
  frames,
});

export function makeValidateActivities(deps: ActivityDeps) {
  return {
    async validate(ctx: RunContext, trained: TrainResult, annotated: AnnotateResult): Promise<ValidateResult> {
      const registry = new ModelRegistry(deps.dataDir);
      const idempotencyKey = `${ctx.workflowId}/${ctx.runId}`;
      const dsDir = await deps.store.localPath(annotated.dataset);
      let ds: DatasetJson;
      try {
        ds = JSON.parse(await readFile(path.join(dsDir, 'dataset.json'), 'utf8')) as DatasetJson;
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`dataset ${dsDir} has no readable dataset.json: ${(err as Error).message}`, 'DatasetError');
      }
      const val = ds.frames.filter((f) => f.split === 'val');
      if (!val.length) throw ApplicationFailure.nonRetryable(`dataset ${dsDir} has no val frames to validate on`, 'DatasetError');

      const modelPath = async (ref: ArtifactRef, fallback?: string): Promise<string> => {
        try {
          return await deps.store.localPath(ref);
        } catch (err) {
          if (fallback) return fallback;
          throw err;
        }
      };
      const candidatePath = await modelPath(trained.model);
      const pretrainedPath = trained.pretrained ? await modelPath(trained.pretrained) : null;
      const deployedVersion = await registry.deployed(ctx.cameraId);
      const deployedPath = deployedVersion ? await modelPath(deployedVersion.model, path.join(edgeDir(deps.dataDir, ctx.cameraId), 'models', `${deployedVersion.version}.onnx`)).catch(() => null) : null;

      const models: { key: 'candidate' | 'deployed' | 'pretrained'; path: string }[] = [{ key: 'candidate', path: candidatePath }];
      if (deployedPath) models.push({ key: 'deployed', path: deployedPath });
      if (pretrainedPath) models.push({ key: 'pretrained', path: pretrainedPath });

      // Decode the val frames once; all models see the same pixels.
      const frames = [];
      for (const f of val) frames.push({ meta: f, rgb: await loadFrame(path.join(dsDir, 'images', `${f.name}.jpg`)), teacher: await teacherLabels(dsDir, f.name, ds) });

      const gt = ctx.camera.groundTruth ? await readGroundTruth(ctx.camera.groundTruth.path, ctx.camera.groundTruth.format).catch((err: Error) => {
        throw ApplicationFailure.nonRetryable(`ground truth ${ctx.camera.groundTruth!.path}: ${err.message}`, 'GroundTruthError');
      }) : null;
      const gtFrames = gt
        ? frames.map((f) => {
            const objs = groundTruthForFrame(gt, f.meta, { fps: ds.fps ?? ctx.camera.capture.fps, width: ds.width, height: ds.height });
            return objs ? objs.filter((o) => ds.classes.includes(o.className)).map((o): GtBox => ({ cls: ds.classes.indexOf(o.className), box: o.box })) : null;
          })
        : null;

      const results: Record<string, { teacher: MapResult; gt: MapResult | null; dets: DetBox[][] }> = {};
      let done = 0;
      for (const m of models) {
        const fail = (err: Error) => {
          throw ApplicationFailure.nonRetryable(`${m.key} model ${m.path}: ${err.message}`, err.name);
        };
        // Worker-thread inference: heartbeats keep flowing while a model runs.
        const model = await createStudentDetector(m.path, { threads: 2, scoreFloor: 0.001 }).catch(fail);
        const map = classMapper(model.classNames, ds.classes);
        const dets: DetBox[][] = [];
        try {
          for (const f of frames) {
            const [raw = []] = await model.detect([f.rgb]).catch(fail);
            dets.push(raw.map((d) => ({ ...d, cls: map(d.cls) })).filter((d) => d.cls >= 0));
            if (++done % 10 === 0) heartbeat({ stage: 'validate', model: m.key, done, total: frames.length * models.length });
          }
        } finally {
          await model.close();
        }
        const teacher = evaluateDetections(frames.map((f, i): EvalImage => ({ gts: f.teacher, dets: dets[i]! })), ds.classes);
        const gtEval = gtFrames
          ? evaluateDetections(frames.flatMap((_, i): EvalImage[] => (gtFrames[i] ? [{ gts: gtFrames[i]!, dets: dets[i]! }] : [])), ds.classes)
          : null;
        results[m.key] = { teacher, gt: gtEval, dets };
      }

      const lat = await measureLatency(models.map((m) => m.path), { threads: 1, warmup: 3, runs: 20, onProgress: (d, t) => heartbeat({ stage: 'latency', done: d, total: t }) });
      const latency = Object.fromEntries(models.map((m, i) => [m.key, lat[i]!.medianMs]));

      const candidate = toMetrics(results.candidate!.teacher, latency.candidate!, frames.length);
      const deployed = results.deployed && deployedVersion ? { ...toMetrics(results.deployed.teacher, latency.deployed!, frames.length), version: deployedVersion.version } : null;
      // Without an exported pre-trained student there is no baseline: score it 0 so the gate compares against nothing better.
      const pretrained = results.pretrained ? toMetrics(results.pretrained.teacher, latency.pretrained!, frames.length) : { map50: 0, map5095: 0, perClass: {}, latencyMs: latency.candidate!, frames: 0 };
      const decision = decideGate({ candidate, deployed, pretrained, gate: ctx.camera.gate });

      const version = await registry.createVersion(ctx.cameraId, {
        model: trained.model,
        dataset: annotated.dataset,
        teacher: annotated.teacher,
        trainer: trained.trainer,
        trainerArgs: trained.trainerArgs,
        metrics: { ...candidate, gain: decision.gain, trainer: trained.metrics },
        state: decision.accepted ? 'candidate' : 'rejected',
        reason: decision.reason,
        idempotencyKey,
      });

      const rows: ReportModelRow[] = [];
      const row = (name: string, against: ReportModelRow['against'], r: MapResult, latencyMs: number) => rows.push({ name, against, map50: r.map50, map5095: r.map5095, latencyMs, perClass: r.perClass });
      if (results.pretrained) row('pretrained', 'teacher', results.pretrained.teacher, latency.pretrained!);
      if (results.deployed) row(`deployed ${deployedVersion!.version}`, 'teacher', results.deployed.teacher, latency.deployed!);
      row(`candidate ${version.version}`, 'teacher', results.candidate!.teacher, latency.candidate!);
      for (const m of models) if (results[m.key]!.gt) row(m.key === 'candidate' ? `candidate ${version.version}` : m.key, 'ground truth', results[m.key]!.gt!, latency[m.key]!);

      // Frames with the most teacher boxes show the difference best.
      const label = (cls: number) => ds.classes[cls] ?? String(cls);
      const shown = frames.map((f, i) => ({ f, i })).sort((a, b) => b.f.teacher.length - a.f.teacher.length).slice(0, 3);
      const reportFrames: ReportFrame[] = shown.map(({ f, i }) => {
        const boxes: ReportFrame['boxes'] = { teacher: f.teacher.map((g) => ({ box: g.box, label: label(g.cls) })) };
        const pick = (k: string) => (results[k]?.dets[i] ?? []).filter((d) => d.score >= 0.3).map((d) => ({ box: d.box, score: d.score, label: label(d.cls) }));
        if (results.pretrained) boxes['student before (pretrained)'] = pick('pretrained');
        if (results.deployed) boxes[`student deployed ${deployedVersion!.version}`] = pick('deployed');
        boxes[`student after (${version.version})`] = pick('candidate');
        return { name: f.meta.name, jpegPath: path.join(dsDir, 'images', `${f.meta.name}.jpg`), width: f.rgb.width, height: f.rgb.height, boxes };
      });
      const curves = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.teacher.prCurves]));
      const written = await writeReport(deps.dataDir, { cameraId: ctx.cameraId, runId: ctx.runId, version: version.version, decision, rows, curves, frames: reportFrames });
      const report = await deps.store.putDir(written.dir, 'report');

      const out: ValidateResult = {
        version: version.version,
        candidate,
        deployed,
        pretrained,
        accepted: decision.accepted,
        reason: decision.reason,
        gain: decision.gain,
        report,
        reportPath: written.html,
      };
      if (results.candidate!.gt && (results.pretrained?.gt || results.candidate!.gt)) {
        const gtPre = results.pretrained?.gt;
        out.groundTruth = {
          candidate: toMetrics(results.candidate!.gt, latency.candidate!, frames.length),
          pretrained: gtPre ? toMetrics(gtPre, latency.pretrained!, frames.length) : { map50: 0, map5095: 0, perClass: {}, latencyMs: latency.candidate!, frames: 0 },
        };
      }
      return out;
    },
  };
}
