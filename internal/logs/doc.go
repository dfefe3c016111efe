// Package logs reads W3C extended access logs, as IIS and certgate write
// them, and summarises a day of traffic: how many requests failed with
// which sub-status and Win32 code, where, when and from whom, with the
// catalogue's likely causes and next commands for each failure class.
//
// The reader streams: memory depends on the number of distinct keys
// (statuses, sites, hours, and at most MaxKeys client IPs and paths per
// failure class), never on the number of lines. Every #Fields directive
// switches the field layout for the lines after it, as IIS writes a new
// block after a restart or a logging change; lines that do not fit their
// layout are counted as malformed and skipped.
package logs
