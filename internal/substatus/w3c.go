package substatus

import "sort"

// Win32AccessDenied is the plain Win32 error ERROR_ACCESS_DENIED (5), not
// an HRESULT: what IIS writes to sc-win32-status for 403.7.
const Win32AccessDenied Code = 5

// win32Names names plain Win32 errors (winerror.h) that IIS writes to
// sc-win32-status for requests certgate does not decide itself (401.2 5,
// 404 2, 200 64...), so that explain and logs analyze can name them. They
// are not certgate outcomes and map to no sub-status.
var win32Names = map[Code]struct{ name, message string }{
	2:                 {"ERROR_FILE_NOT_FOUND", "The system cannot find the file specified."},
	3:                 {"ERROR_PATH_NOT_FOUND", "The system cannot find the path specified."},
	Win32AccessDenied: {"ERROR_ACCESS_DENIED", "Access is denied."},
	50:                {"ERROR_NOT_SUPPORTED", "The request is not supported."},
	64:                {"ERROR_NETNAME_DELETED", "The specified network name is no longer available (the client closed the connection)."},
	87:                {"ERROR_INVALID_PARAMETER", "The parameter is incorrect."},
	121:               {"ERROR_SEM_TIMEOUT", "The semaphore timeout period has expired."},
	995:               {"ERROR_OPERATION_ABORTED", "The I/O operation has been aborted because of either a thread exit or an application request."},
	1236:              {"ERROR_CONNECTION_ABORTED", "The network connection was aborted by the local system."},
	1326:              {"ERROR_LOGON_FAILURE", "The user name or password is incorrect."},
	1327:              {"ERROR_ACCOUNT_RESTRICTION", "Account restrictions are preventing this user from signing in."},
	1331:              {"ERROR_ACCOUNT_DISABLED", "This user can't sign in because this account is currently disabled."},
	1909:              {"ERROR_ACCOUNT_LOCKED_OUT", "The referenced account is currently locked out and may not be logged on to."},
}

// w3cLogged maps the codes certgate decides with to the value IIS writes to
// sc-win32-status for the same outcome, where the two differ. IIS logs a
// request refused for want of a client certificate as "403 7 5"
// (ERROR_ACCESS_DENIED; gradenegger.eu's IIS 403.7 analysis, `certutil
// -error 5`), not as the Schannel status behind it. For 403.13, 403.16 and
// 403.17 IIS writes the chain-engine HRESULT itself (KB 2802568: "403 16
// 2148204809"), which is what certgate decides with, so those are unchanged.
var w3cLogged = map[Code]Code{
	SecENoCredentials:        Win32AccessDenied,
	SecEIncompleteCredential: Win32AccessDenied,
	ErrorAccessDenied:        Win32AccessDenied, // 403.100: an authorization refusal, logged as IIS logs 401.3 / 403.x ACL denials
}

// W3C returns the value written to sc-win32-status for c: what IIS writes
// for the same outcome, so that tooling built for IIS logs (Log Parser
// queries, SIEM rules on "403 7 5") keeps working. The page, the problem
// JSON and the event log keep c itself, which says more.
func (c Code) W3C() Code {
	if l, ok := w3cLogged[c]; ok {
		return l
	}
	return c
}

// FromW3C returns the code certgate decides with for a logged sub-status
// and sc-win32-status: the inverse of W3C for the pairs where IIS writes a
// plainer value (403.7 with 5 is SEC_E_NO_CREDENTIALS), and logged itself
// otherwise. Lines written before the W3C mapping, and IIS lines, read the
// same way.
func FromW3C(s Sub, logged Code) Code {
	for _, c := range w3cRicherOrder {
		if w3cLogged[c] == logged && codes[c].Sub == s {
			return c
		}
	}
	return logged
}

// w3cRicherOrder lists w3cLogged's keys with the most common cause first,
// so that FromW3C is deterministic when two codes log alike.
var w3cRicherOrder = func() []Code {
	out := make([]Code, 0, len(w3cLogged))
	for c := range w3cLogged {
		out = append(out, c)
	}
	// SEC_E_NO_CREDENTIALS (0x8009030E) is the usual 403.7 and sorts
	// before SEC_E_INCOMPLETE_CREDENTIALS (0x80090320).
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}()

// Win32Name returns the name of a plain Win32 error IIS logs, if known.
func Win32Name(c Code) (name, message string, ok bool) {
	w, ok := win32Names[c]
	return w.name, w.message, ok
}

// W3CDifferences lists the codes whose sc-win32-status value differs from
// the code itself, in numeric order, for the documentation.
func W3CDifferences() []CodeInfo {
	var out []CodeInfo
	for _, i := range Codes() {
		if i.Code.W3C() != i.Code {
			out = append(out, i)
		}
	}
	return out
}

// LogAdvice is what the catalogue says about one logged outcome: a W3C
// line's sc-status, sc-substatus and sc-win32-status.
type LogAdvice struct {
	Sub Sub
	// Code is the code certgate decides with (FromW3C of the logged value).
	Code Code
	// Heading is the IIS page heading of Sub.
	Heading string
	// Message is Code's Windows message, when catalogued.
	Message string
	// Causes and NextSteps are Code's when it has its own, else Sub's.
	Causes    []string
	NextSteps []string
}

// ForLog returns the catalogue's reading of a logged outcome. It is the one
// place where a log line's codes become causes, for `certgate explain` and
// `certgate logs analyze` alike. A code is more precise than the
// sub-status it is logged with (403.16 has a dozen causes; CERT_E_CHAINING
// three), so its details win when it has any.
func ForLog(s Sub, logged Code) LogAdvice {
	e := Must(s)
	a := LogAdvice{Sub: s, Code: FromW3C(s, logged), Heading: e.Heading(), Causes: e.Causes, NextSteps: e.NextSteps}
	if info, ok := a.Code.Info(); ok && a.Code != NoError {
		a.Message = info.Message
		d := a.Code.Details()
		a.Causes, a.NextSteps = d.Causes, d.NextSteps
	} else if _, msg, ok := Win32Name(a.Code); ok {
		a.Message = msg
	}
	return a
}
