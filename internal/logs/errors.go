package logs

import "errors"

// Sentinels of a line that is not a request of its #Fields layout.
var (
	// ErrFieldCount is a line with more or fewer values than its #Fields.
	ErrFieldCount = errors.New("value count does not match #Fields")
	// ErrBadStatus is an sc-status, sc-substatus or sc-win32-status that is not a number.
	ErrBadStatus = errors.New("status field is not a number")
	// ErrNoStatus is a #Fields layout without sc-status: nothing to count.
	ErrNoStatus = errors.New("#Fields has no sc-status")
	// ErrLineTooLong is a line longer than MaxLineBytes.
	ErrLineTooLong = errors.New("line too long")
	// ErrBadTime is a date or time field that is not 2006-01-02 / 15:04:05.
	ErrBadTime = errors.New("date or time field is malformed")
)
