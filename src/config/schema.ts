import { z } from 'zod';
import { DEMO_VIDEO } from './demo-video.js';

// in its own module so that the CLI's option defaults need no zod
export { DEMO_VIDEO };

export const captureSchema = z
  .object({
    /** stop after this many seconds of source time (whichever of seconds/frames comes first) */
    seconds: z.number().positive().optional(),
    /** stop after this many decoded frames (at the target fps) */
    frames: z.number().int().positive().optional(),
    /** target frame rate; frames are dropped/duplicated by ffmpeg's fps filter */
    fps: z.number().positive().max(120).default(10),
    /** downscale width in ffmpeg (height keeps aspect); omit to keep native size */
    width: z.number().int().positive().optional(),
    /** how long an unreachable camera is retried before the run fails (edge outage) */
    outageRetryHours: z.number().positive().default(6),
    /**
     * How an rtsp:// camera sends RTP: 'tcp' (default: interleaved on the RTSP connection, through
     * NAT and firewalls, nothing lost) or 'udp', for a camera that refuses TCP (461 Unsupported
     * Transport); UDP needs the network between camera and worker to let it through, and loses packets.
     */
    rtspTransport: z.enum(['tcp', 'udp']).default('tcp'),
    /**
     * Interlaced video (analog cameras through a DVR or encoder: 576i, 480i) shows every moving
     * thing combed, alternate rows from instants 20 ms apart. 'auto' (default) deinterlaces where
     * the source's header says it is interlaced; 'always' also where it does not say (an encoder
     * that flags woven fields as progressive); 'never' leaves the frames as decoded. The sample
     * step and the edge server apply the same setting, so the student learns from frames like
     * the ones it will see.
     */
    deinterlace: z.enum(['auto', 'always', 'never']).default('auto'),
  })
  .strict();

export const sampleSchema = z
  .object({
    /** number of frames sent to the teacher */
    budget: z.number().int().positive().default(120),
    /** share of the budget kept for frames with nothing moving (so the student learns the background) */
    emptyShare: z.number().min(0).max(1).default(0.1),
    /** mean absolute difference (0..255) below which two frames count as duplicates */
    dedupeThreshold: z.number().min(0).default(2),
    /** share of time blocks held out for validation */
    valShare: z.number().min(0.05).max(0.9).default(0.25),
    /** length of one split block, seconds of source time */
    blockSeconds: z.number().positive().default(10),
    /**
     * Whole frames each coverage slot offers to choose from. Every frame is scored (on a small
     * grid), but only every k-th leaves ffmpeg whole, k = frames in the window / (budget ×
     * this), at least 1: fewer bytes through the pipe. Raise it to choose among more frames.
     */
    candidatesPerSlot: z.number().int().min(1).default(2),
    /**
     * Regions whose changes are not motion: an on-screen clock, a blinking LED, a screen, a
     * flag, the sky. Each `[x1, y1, x2, y2]` in fractions of the frame as shown (0..1, from the
     * top left), e.g. `[0, 0, 0.4, 0.06]` for a timestamp along the top left. Their pixels still
     * go to the teacher; they only stop making a frame "moving" and from getting motion boxes. The
     * sample manifest's `restlessRegions` suggests them.
     */
    motionMask: z
      .array(
        z
          .tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)])
          .refine(([x1, y1, x2, y2]) => x1 < x2 && y1 < y2, { message: 'a motion mask region is [x1, y1, x2, y2] with x1 < x2 and y1 < y2, in fractions of the frame (0..1)' }),
      )
      .default([]),
  })
  .strict();

export const teacherSchema = z
  .object({
    /** `builtin:centernet` (offline default) or a path to an ONNX detector */
    model: z.string().min(1).default('builtin:centernet'),
    /** output layout of an ONNX teacher; `auto` detects it from the output shapes */
    layout: z.enum(['auto', 'e2e', 'yolo', 'ssd', 'detr']).default('auto'),
    /** class names of an ONNX teacher (index order); the built-in teacher knows its own (COCO) */
    classNames: z.array(z.string()).optional(),
    imgsz: z.number().int().positive().default(512),
    minScore: z.number().min(0).max(1).default(0.3),
    /** per-class score thresholds overriding minScore, by class name */
    classScores: z.record(z.string(), z.number().min(0).max(1)).default({}),
    /** also run the teacher on zoomed crops around motion regions and merge */
    crops: z.boolean().default(true),
    /** test-time augmentation (horizontal flip) */
    tta: z.boolean().default(false),
    /**
     * test-time augmentation at other scales: > 1 runs the teacher on overlapping tiles that show
     * the frame that many times larger (small, distant objects), < 1 on the frame padded to look
     * smaller (objects too close to fit); e.g. [1.5]. Each costs one or more extra teacher runs a frame.
     */
    ttaScales: z
      .array(z.number().min(0.25).max(4).refine((v) => v !== 1, 'scale 1 is the full-frame pass itself: leave it out'))
      .max(4)
      .default([]),
    /** keep detections that never move across the whole window (posters, statues) */
    keepStatic: z.boolean().default(false),
    provider: z.enum(['cpu', 'cuda', 'tensorrt']).default('cpu'),
    /** op threads in all (default: all cores) */
    threads: z.number().int().positive().optional(),
    /** frames inferred at once, each by its own session with threads/sessions op threads (default: up to 4 on CPU, 1 on GPU) */
    sessions: z.number().int().positive().optional(),
  })
  .strict();

export const studentSchema = z
  .object({
    /** `builtin:centernet` (COCO-pretrained MobileNetV3 CenterNet), a trainer checkpoint (.pt) */
    init: z.string().min(1).default('builtin:centernet'),
    /** student input size (square); fixes its inference cost */
    imgsz: z.number().int().min(64).max(1024).multipleOf(32).default(320),
    epochs: z.number().int().positive().default(12),
    batch: z.number().int().positive().default(8),
    lr: z.number().positive().default(0.0002),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    /** mixed precision of the built-in trainer: auto = fp32 (TF32 on CUDA: faster than bf16 autocast for this student, measured on an H100); bf16, or fp16 + loss scaling, on request */
    amp: z.enum(['auto', 'off', 'bf16', 'fp16']).default('auto'),
    /** bit-reproducible training on CUDA too (deterministic kernels, no cuDNN autotuning; slower). CPU runs always are */
    deterministic: z.boolean().default(false),
    /** experimental, not yet verified on a GPU: the built-in trainer on CUDA replays each full batch's forward and backward from a CUDA graph (not with fp16). The student is small, so an eager step on a GPU is mostly kernel launches */
    cudaGraphs: z.boolean().default(false),
    /** the built-in trainer's seed (shuffling, augmentation): change it to see how much of a gain is the run's luck */
    seed: z.number().int().min(0).default(0),
    /** an external trainer honouring the trainer contract; default is the built-in trainer */
    command: z.array(z.string()).optional(),
    /** stop (and retry from the last checkpoint) a trainer that writes nothing for this long: hung, not slow (one epoch of a custom trainer must fit; the built-in trainer also reports the steps inside an epoch, so one of its steps must) */
    stallMinutes: z.number().positive().default(60),
  })
  .strict();

export const gateSchema = z
  .object({
    /**
     * The metric the gate compares. COCO's primary mAP@[.5:.95] by default: it rewards boxes that fit,
     * where mAP@0.5 against the teacher saturates (the pretrained student already finds most people).
     */
    metric: z.enum(['map50', 'map5095']).default('map5095'),
    /** the candidate must beat the deployed model (or the pre-trained one) by at least this (absolute) */
    minGain: z.number().default(0.01),
    /** candidate latency must stay within this factor of the deployed model's */
    maxLatencyRatio: z.number().positive().default(1.25),
    /** and under this absolute budget, if set */
    maxLatencyMs: z.number().positive().optional(),
    /** wait for an approve/reject signal before deploying */
    manualApproval: z.boolean().default(false),
    approvalTimeoutMinutes: z.number().positive().default(24 * 60),
  })
  .strict();

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const scheduleSchema = z
  .object({
    /** cron expression, e.g. "0 3 * * *" (5 to 7 fields, or "@daily"-style) */
    cron: z
      .string()
      .min(1)
      .refine((c) => c.trim().startsWith('@') || [5, 6, 7].includes(c.trim().split(/\s+/).length), {
        message: 'a cron expression has 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"',
      }),
    paused: z.boolean().default(false),
    /** IANA time zone of the cron, e.g. "Europe/Berlin" (default UTC) */
    timezone: z
      .string()
      .refine(isTimeZone, { message: 'not an IANA time zone name, e.g. "Europe/Berlin" or "UTC"' })
      .optional(),
  })
  .strict();

export const cameraSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$/, 'use letters, digits, "-" and "_" (it becomes part of workflow IDs)'),
    /** a file path, rtsp://, http(s)://, or anything ffmpeg opens */
    source: z.string().min(1),
    /** the edge site whose workers sit next to this camera */
    site: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('default'),
    /** classes the student learns, by teacher class name */
    classes: z.array(z.string().min(1)).min(1).default(['person']),
    schedule: scheduleSchema.optional(),
    capture: captureSchema.default({ fps: 10, outageRetryHours: 6, rtspTransport: 'tcp', deinterlace: 'auto' }),
    sample: sampleSchema.default({ budget: 120, emptyShare: 0.1, dedupeThreshold: 2, valShare: 0.25, blockSeconds: 10, candidatesPerSlot: 2, motionMask: [] }),
    teacher: teacherSchema.default(teacherSchema.parse({})),
    student: studentSchema.default(studentSchema.parse({})),
    gate: gateSchema.default(gateSchema.parse({})),
    /** human ground truth for validation (optional) */
    groundTruth: z
      .object({ path: z.string().min(1), format: z.enum(['mot', 'coco']) })
      .strict()
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    /** where artifacts, the registry, edge models and the dev server's database live */
    dataDir: z.string().min(1).default('.autotuner'),
    temporal: z
      .object({
        address: z.string().default('127.0.0.1:7233'),
        namespace: z.string().default('default'),
        uiPort: z.number().int().positive().default(8233),
      })
      .strict()
      .default({ address: '127.0.0.1:7233', namespace: 'default', uiPort: 8233 }),
    cameras: z.array(cameraSchema).min(1),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.cameras.forEach((cam, i) => {
      if (seen.has(cam.id)) {
        ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate camera id "${cam.id}": ids must be unique` });
      }
      seen.add(cam.id);
    });
  });

export type CaptureConfig = z.infer<typeof captureSchema>;
export type SampleConfig = z.infer<typeof sampleSchema>;
export type TeacherConfig = z.infer<typeof teacherSchema>;
export type StudentConfig = z.infer<typeof studentSchema>;
export type GateConfig = z.infer<typeof gateSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
export type AutotunerConfig = z.infer<typeof configSchema>;
