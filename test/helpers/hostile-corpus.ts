const huge = "a".repeat(100_000);

export interface Registration {
  ID: string;
  Name: string;
  Port: number;
  Address?: string;
  Tags: string[];
  Meta?: Record<string, string>;
}

/**
 * What any container on any host could register. Each entry tries to change the structure of
 * the shipped HAProxy or nginx config; every one must be left out, and nothing else.
 */
export function hostileCorpus(evilPort: number): Registration[] {
  const evil = (id: string, name: string, tags: string[], extra: Partial<Registration> = {}): Registration => ({ ID: id, Name: name, Port: evilPort, Tags: ["http", ...tags], ...extra });
  return [
    evil("h-or", "hijack-or", ["host=x } or { always_true"]),
    evil("h-if", "hijack-if", ["host=x } if { always_true"]),
    evil("h-nginx", "hijack-nginx", ["host=a.example; } server { listen 80; return 200 pwned; } #"]),
    evil("h-space", "hijack-space", ["host=a.example b.example"]),
    evil("h-hash", "hijack-hash", ["host=a.example#"]),
    evil("h-quote", "hijack-quote", ['host=a.example"']),
    evil("h-newline", "hijack-newline", ["host=a.example\nbackend evil"]),
    evil("h-lookalike", "hijack-lookalike", ["host=sh\u043ep.example.com"]), // Cyrillic о: looks like shop
    evil("h-fullwidth", "hijack-fullwidth", ["host=a.example\uff1b"]),
    evil("h-huge", "hijack-huge", [`host=${huge}`]),
    evil("p-or", "path-or", ["path=/x } or { always_true"]),
    evil("p-semi", "path-semi", ["path=/a; return 200 pwned; #"]),
    evil("p-var", "path-var", ["path=/$host"]),
    evil("p-brace", "path-brace", ["path=/a{"]),
    evil("p-rel", "path-rel", ["path=api"]),
    evil("p-huge", "path-huge", [`path=/${huge}`]),
    evil("n-space", "evil name", []),
    evil("n-brace", "evil}", []),
    evil("n-semi", "evil;x", []),
    evil("n-hash", "evil#", []),
    evil("n-huge", `n${huge}`, []),
  ];
}
