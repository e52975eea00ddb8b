/**
 * Credential redaction. Camera URLs carry passwords (rtsp://user:pass@host, ?token=...), and
 * ffmpeg echoes its input URL in errors; everything that leaves this module's callers (errors,
 * manifests, logs, Temporal history) goes through here first.
 */

const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#'"]*)@/gi;
const SECRET_PARAMS = /([?&;](?:password|passwd|pass|pwd|token|access_token|auth|authorization|key|apikey|api_key|secret|signature|sig|credentials)=)[^&\s'"#]*/gi;

/** `rtsp://user:pass@host/x?token=t` → `rtsp://***@host/x?token=***`. Non-URLs come back unchanged. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1***@').replace(SECRET_PARAMS, '$1***');
}

/** Secrets embedded in a URL, raw and percent-decoded (ffmpeg prints either form). */
function secretsOf(source: string): string[] {
  const out = new Set<string>();
  const add = (s: string | undefined): void => {
    // Very short strings (a one-letter user) would redact unrelated text; the URL forms are handled by the regexes.
    if (s && s.length >= 3) {
      out.add(s);
      try {
        out.add(decodeURIComponent(s));
      } catch {
        /* not percent-encoded */
      }
    }
  };
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^\s/?#]*)@/i.exec(source);
  if (m) {
    const info = m[1]!;
    const colon = info.indexOf(':');
    if (colon >= 0) add(info.slice(colon + 1));
    else add(info);
  }
  for (const p of source.matchAll(/[?&;](?:password|passwd|pass|pwd|token|access_token|auth|authorization|key|apikey|api_key|secret|signature|sig|credentials)=([^&\s#]*)/gi)) {
    add(p[1]);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Redact any URL credentials in free text, and literal occurrences of `source`'s secrets. */
export function redactText(text: string, ...sources: string[]): string {
  let out = redactUrl(text);
  for (const src of sources) {
    for (const secret of secretsOf(src)) out = out.split(secret).join('***');
  }
  return out;
}
