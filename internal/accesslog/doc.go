// Package accesslog writes certgate's access log in the W3C Extended Log
// File Format, laid out the way IIS writes it so that the tools admins
// already point at IIS logs (Log Parser, GoAccess, SIEM parsers) read it
// unchanged:
//
//	#Software: certgate 1.2.0
//	#Version: 1.0
//	#Date: 2026-11-23 18:00:00
//	#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
//	2026-11-23 18:00:01 127.0.0.1 GET /secure - 8443 - 10.0.0.7 Mozilla/5.0+(X11) - 403 16 2148204809 3
//
// Times are UTC (IIS writes W3C times in UTC whatever localTimeRollover
// says), time-taken is in milliseconds, sc-win32-status is the decimal
// HRESULT from internal/substatus, and cs-username is the mapped user.
//
// File names follow IIS with UTF-8 logging on (the "u_" prefix): daily
// rollover writes u_exYYMMDD.log (the day in UTC), size rollover and "none"
// write u_extendN.log with N counting up from 1 (IIS LogFilePeriod MaxSize
// and Unlimited). A header block starts every new file and every reopen
// after a restart, as IIS does, so a file may hold several header blocks.
//
// Writing never blocks the request path: Write enqueues into a bounded
// buffer and a single goroutine formats and writes with bufio. When the
// buffer is full the line is dropped and counted (Dropped); Close drains
// the buffer, so a graceful shutdown loses nothing.
package accesslog
