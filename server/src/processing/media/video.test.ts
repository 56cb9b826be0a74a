import { describe, expect, it } from 'vitest';
import { parseProbe } from './video.js';

// The real ffprobe runs in tests/media-decoders.test.ts; here, the reading of its JSON.
describe('parseProbe', () => {
  it('reads size, rotation and duration of a phone video', () => {
    const probe = parseProbe({
      streams: [
        { index: 0, codec_type: 'video', width: 1920, height: 1080, sample_aspect_ratio: '1:1', duration: '3.000', side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] },
        { index: 1, codec_type: 'audio', duration: '3.021' },
      ],
      format: { duration: '3.021000' },
    });
    expect(probe).toEqual({ hasVideo: true, hasAudio: true, width: 1080, height: 1920, rotation: 90, durationMs: 3021, videoStreamIndex: 0 });
  });

  it('applies the sample aspect ratio (anamorphic DVD video)', () => {
    const probe = parseProbe({ streams: [{ index: 0, codec_type: 'video', width: 720, height: 576, sample_aspect_ratio: '16:11' }], format: {} });
    expect(probe).toMatchObject({ width: 1047, height: 576, durationMs: null });
  });

  it('does not take an audio file’s cover art for a video', () => {
    const probe = parseProbe({
      streams: [
        { index: 0, codec_type: 'audio', duration: '181.2' },
        { index: 1, codec_type: 'video', width: 600, height: 600, disposition: { attached_pic: 1 } },
      ],
      format: { duration: 'N/A' },
    });
    expect(probe).toEqual({ hasVideo: false, hasAudio: true, width: null, height: null, rotation: 0, durationMs: 181200, videoStreamIndex: null });
  });

  it('rejects output that is not ffprobe JSON', () => {
    expect(parseProbe({ streams: 'nope' })).toBeUndefined();
  });
});
