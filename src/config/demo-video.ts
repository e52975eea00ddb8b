/** The default demo camera: a real static campus camera shipped by Debian's opencv-doc. */
export const DEMO_VIDEO = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
