/** Search attributes the Web UI filters runs by. Pure module: imported by workflows too. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_CAMERA = defineSearchAttributeKey('AutotunerCamera', SearchAttributeType.KEYWORD);
export const SA_STAGE = defineSearchAttributeKey('AutotunerStage', SearchAttributeType.KEYWORD);
export const SA_GAIN = defineSearchAttributeKey('AutotunerAccuracyGain', SearchAttributeType.DOUBLE);
export const SA_OUTCOME = defineSearchAttributeKey('AutotunerOutcome', SearchAttributeType.KEYWORD);
export const SA_CAMERA_MOVED = defineSearchAttributeKey('AutotunerCameraMoved', SearchAttributeType.BOOL);

export const ALL_SEARCH_ATTRIBUTES = [SA_CAMERA, SA_STAGE, SA_GAIN, SA_OUTCOME, SA_CAMERA_MOVED] as const;

/** `--search-attribute Name=Type` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  const cliType: Record<string, string> = { KEYWORD: 'Keyword', DOUBLE: 'Double', BOOL: 'Bool' };
  return ALL_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${cliType[k.type]}`]);
}
