package substatus

// Response headers on every response certgate writes itself (a 403.x,
// 400, 421 or 500 page). The sub-status and code are not secrets (the JSON
// body carries them for every client, as IIS logs them), and in headers
// they are visible to `curl -I` and to monitoring that does not parse
// bodies. The reason and failing element are never put in headers: they
// are detailed information. The gateway writes them and `certgate probe`
// reads them.
const (
	HeaderSubstatus = "X-Certgate-Substatus" // "403.16"
	HeaderCode      = "X-Certgate-Code"      // "0x800B0109"
	HeaderRequestID = "X-Request-Id"
)
