/** Content-addressed pointer to bytes in the artifact store. Small enough for workflow history. */
export type ArtifactKind =
  | 'frames' // a directory of sampled JPEG frames + sample manifest
  | 'dataset' // YOLO-layout dataset directory
  | 'model' // a single ONNX file
  | 'checkpoint'
  | 'report'
  | 'json'
  | 'other';

export interface ArtifactRef {
  /** `file:///abs/path` for the directory store; other schemes for other stores. */
  uri: string;
  /** hex sha256 of the file, or of the directory's canonical manifest (sorted `sha256  relpath` lines). */
  sha256: string;
  /** total bytes (all files for a directory). */
  bytes: number;
  kind: ArtifactKind;
}
