package substatus

import "net/http"

// iisTitles are the titles IIS 7 and later give sub-statuses certgate does
// not answer with itself (Microsoft's "The HTTP status code in IIS 7 and
// later versions", KB 943891), so that `certgate explain` and `certgate logs
// analyze` name what an IIS log line means instead of "Error 401.2".
var iisTitles = map[Sub]string{
	{400, 1}: "Invalid Destination Header", {400, 2}: "Invalid Depth Header", {400, 3}: "Invalid If Header",
	{400, 4}: "Invalid Overwrite Header", {400, 5}: "Invalid Translate Header", {400, 6}: "Invalid Request Body",
	{400, 7}: "Invalid Content Length", {400, 8}: "Invalid Timeout", {400, 9}: "Invalid Lock Token",
	{401, 1}: "Logon failed", {401, 2}: "Logon failed due to server configuration",
	{401, 3}: "Unauthorized due to ACL on resource", {401, 4}: "Authorization failed by filter",
	{401, 5}: "Authorization failed by ISAPI/CGI application",
	{403, 1}: "Execute access forbidden", {403, 2}: "Read access forbidden", {403, 3}: "Write access forbidden",
	{403, 5}: "SSL 128 required", {403, 6}: "IP address rejected", {403, 8}: "Site access denied",
	{403, 9}: "Too many users", {403, 10}: "Invalid configuration", {403, 11}: "Password change",
	{403, 14}: "Directory listing denied", {403, 15}: "Client access licenses exceeded",
	{403, 18}: "Cannot execute requested URL in the current application pool",
	{403, 19}: "Cannot execute CGI applications for the client in this application pool",
	{403, 20}: "Passport logon failed", {403, 21}: "Source access denied", {403, 22}: "Infinite depth is denied",
	{403, 502}: "Too many requests from the same client IP; Dynamic IP Restriction limit reached",
	{403, 503}: "Rejected due to IP address restriction",
	{404, 1}:   "Site Not Found", {404, 2}: "ISAPI or CGI restriction", {404, 3}: "MIME type restriction",
	{404, 4}: "No handler configured", {404, 5}: "Denied by request filtering configuration", {404, 6}: "Verb denied",
	{404, 7}: "File extension denied", {404, 8}: "Hidden namespace", {404, 9}: "File attribute hidden",
	{404, 10}: "Request header too long", {404, 11}: "Request contains double escape sequence",
	{404, 12}: "Request contains high-bit characters", {404, 13}: "Content length too large",
	{404, 14}: "Request URL too long", {404, 15}: "Query string too long",
	{404, 16}: "DAV request sent to the static file handler",
	{404, 17}: "Dynamic content mapped to the static file handler via a wildcard MIME mapping",
	{404, 18}: "Query string sequence denied", {404, 19}: "Denied by filtering rule", {404, 20}: "Too Many URL Segments",
	{500, 11}: "Application is shutting down on the web server", {500, 12}: "Application is busy restarting on the web server",
	{500, 13}: "Web server is too busy", {500, 15}: "Direct requests for Global.asax are not allowed",
	{500, 19}: "Configuration data is invalid", {500, 21}: "Module not recognized",
	{500, 50}:  "A rewrite error occurred during RQ_BEGIN_REQUEST notification handling",
	{500, 100}: "Internal ASP error",
	{502, 1}:   "CGI application timeout", {502, 2}: "Bad gateway: Premature Exit",
	{502, 3}: "Bad Gateway: Forwarder Connection Error (ARR)", {502, 4}: "Bad Gateway: No Server (ARR)",
	{503, 2}: "Concurrent request limit exceeded", {503, 3}: "ASP.NET queue full", {503, 4}: "FastCGI queue full",
}

// iisEntry describes a status certgate does not catalogue: the IIS title of
// its sub-status, or the HTTP reason phrase. ok is false when neither
// exists.
func iisEntry(s Sub) (Entry, bool) {
	reason := http.StatusText(s.Status)
	title, ok := iisTitles[s]
	if !ok {
		if s.Sub != 0 || reason == "" {
			return Entry{}, false
		}
		title = reason
	}
	if reason == "" {
		reason = "Error"
	}
	return Entry{Sub: s, Reason: reason, Title: title}, true
}

// Describe returns the catalogue entry for s, else the IIS title of s (with
// no causes: certgate does not answer with it), reporting which.
func Describe(s Sub) (e Entry, catalogued, known bool) {
	if e, ok := entries[s]; ok {
		return e, true, true
	}
	e, ok := iisEntry(s)
	return e, false, ok
}
