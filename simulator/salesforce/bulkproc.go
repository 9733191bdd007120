package salesforce

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Bulk processing. The org works through closed jobs one after another, in the
// order they were closed, at Options.BulkRecordsPerSecond, an internal batch of
// Options.BulkBatchSize records at a time. Nothing runs in the background: the
// work due by a moment is done when anything looks at the org (a request, an
// accessor), each batch applied at the time it would have finished. So a test on
// a fake clock sees exactly the states a poller would, and a real clock gives
// real pacing.

// bulkQueue is the org's processing pipeline.
type bulkQueue struct {
	jobs   []*job    // closed jobs waiting or in progress, in closing order
	cursor time.Time // when the org finished its last batch
}

// jobRun is a job's processing state.
type jobRun struct {
	data      []byte // every upload, later headers dropped
	reader    *csv.Reader
	headerEnd int64 // offset of the first row after the header
	cols      []column
	pending   [][]string // the next internal batch, read but not yet done
	offset    int64      // offset of the pending batch's first row
}

// column is one header cell: a field, the Id, or a parent's external id.
type column struct {
	f    *Field
	isID bool
	fk   *foreignKey // parent and external id field; value unset
}

// advance does the Bulk work due by now.
func (s *Server) advance(now time.Time) {
	q := &s.bulk
	for len(q.jobs) > 0 {
		j := q.jobs[0]
		if j.deleted || (j.state != StateUploadComplete && j.state != StateInProgress) {
			q.jobs = q.jobs[1:]
			continue
		}
		if j.state == StateUploadComplete {
			start := j.readyAt
			if q.cursor.After(start) {
				start = q.cursor
			}
			if start.After(now) {
				return
			}
			q.cursor = start
			s.start(j, start)
		}
		for j.state == StateInProgress {
			run := j.run
			if run.pending == nil && !s.readBatch(j, q.cursor) {
				break
			}
			d := time.Duration(float64(len(run.pending)) / s.opts.BulkRecordsPerSecond * float64(time.Second))
			done := q.cursor.Add(d)
			if done.After(now) {
				return
			}
			if ok, _, _ := s.bulkBatches.Take(1); !ok {
				s.finish(j, StateFailed, q.cursor, "ExceededQuota : the org has used its Bulk API batches for the last 24 hours")
				break
			}
			if ok, _, _ := s.bulkRecords.Take(int64(len(run.pending))); !ok {
				s.finish(j, StateFailed, q.cursor, "ExceededQuota : the org has used its Bulk API records for the last 24 hours")
				break
			}
			s.processBatch(j, done)
			j.processingTime += d
			q.cursor = done
		}
		q.jobs = q.jobs[1:]
	}
}

// start begins processing a job: it checks the data's line endings and header.
func (s *Server) start(j *job, at time.Time) {
	j.state, j.modified = StateInProgress, at
	run := &jobRun{}
	j.run = run
	for i, up := range j.uploads {
		if i > 0 {
			_, rest, _ := bytes.Cut(up, []byte("\n"))
			up = rest
		}
		run.data = append(run.data, up...)
	}
	if badLineEnding(run.data, j.lineEnding) {
		s.finish(j, StateFailed, at, "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is "+j.lineEnding)
		return
	}
	run.reader = csv.NewReader(bytes.NewReader(run.data))
	run.reader.Comma = j.delim
	run.reader.FieldsPerRecord = -1
	header, err := run.reader.Read()
	if errors.Is(err, io.EOF) {
		s.finish(j, StateJobComplete, at, "")
		return
	}
	if err != nil {
		s.finish(j, StateFailed, at, "ClientInputError : "+csvProblem(err))
		return
	}
	run.headerEnd = run.reader.InputOffset()
	run.offset = run.headerEnd
	cols, problem := s.columns(j, header)
	if problem != "" {
		s.finish(j, StateFailed, at, problem)
		return
	}
	run.cols = cols
}

// badLineEnding tells whether data has line endings other than the job's: any
// CRLF in an LF job, any lone LF in a CRLF job (even inside quotes).
func badLineEnding(data []byte, lineEnding string) bool {
	if lineEnding == "LF" {
		return bytes.Contains(data, []byte("\r\n"))
	}
	for i, b := range data {
		if b == '\n' && (i == 0 || data[i-1] != '\r') {
			return true
		}
	}
	return false
}

func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("Failed to parse CSV on line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err.Error()
}

// columns resolves the header row; a problem fails the job.
func (s *Server) columns(j *job, header []string) ([]column, string) {
	seen := map[string]bool{}
	cols := make([]column, len(header))
	for i, name := range header {
		name = strings.TrimSpace(name)
		if seen[strings.ToLower(name)] {
			return nil, "InvalidBatch : Duplicate field name: " + name
		}
		seen[strings.ToLower(name)] = true
		if relName, extName, ok := strings.Cut(name, "."); ok {
			rel := j.ot.rels[strings.ToLower(relName)]
			if rel == nil || s.objects[rel.ReferenceTo[0]] == nil {
				return nil, "InvalidBatch : Field name not found : " + name
			}
			parent := s.objects[rel.ReferenceTo[0]]
			ext := parent.field(extName)
			switch {
			case ext == nil:
				return nil, "InvalidBatch : Field name not found : " + name
			case !ext.ExternalID && ext.Type != TypeID:
				return nil, fmt.Sprintf("InvalidBatch : Field name provided, %s is not an External ID or indexed field for %s", ext.Name, parent.name)
			}
			cols[i] = column{f: rel, fk: &foreignKey{parent: parent, ext: ext}}
			continue
		}
		f := j.ot.field(name)
		if f == nil {
			return nil, "InvalidBatch : Field name not found : " + name
		}
		cols[i] = column{f: f, isID: f.Type == TypeID}
	}
	return cols, ""
}

// readBatch reads the next internal batch; false when there is none (the job is
// then complete, or failed on malformed data).
func (s *Server) readBatch(j *job, at time.Time) bool {
	run := j.run
	run.offset = run.reader.InputOffset()
	var rows [][]string
	for len(rows) < s.opts.BulkBatchSize {
		row, err := run.reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.finish(j, StateFailed, at, "ClientInputError : "+csvProblem(err))
			return false
		}
		if len(row) != len(run.cols) {
			line, _ := run.reader.FieldPos(0)
			s.finish(j, StateFailed, at, fmt.Sprintf("ClientInputError : Wrong number of columns on line %d: %d, the header has %d", line, len(row), len(run.cols)))
			return false
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		s.finish(j, StateJobComplete, at, "")
		return false
	}
	run.pending = rows
	return true
}

// finish ends a job; a completed one keeps no data.
func (s *Server) finish(j *job, state string, at time.Time, message string) {
	j.state, j.modified, j.errorMessage = state, at, message
	if state == StateJobComplete {
		j.uploads = nil
		if j.run != nil {
			j.run.data = j.run.data[:j.run.headerEnd:j.run.headerEnd]
			j.run.reader, j.run.pending = nil, nil
			j.run.offset = j.run.headerEnd
		}
	}
}

// abort stops a job; what was processed stays.
func (s *Server) abort(j *job, now time.Time) {
	if j.state == StateInProgress {
		// The org stops working on the job's batch now.
		s.bulk.cursor = now
	}
	j.state, j.modified = StateAborted, now
	if j.run != nil {
		j.run.pending = nil
	}
}

// unprocessed is the unprocessedrecords CSV: the header and the rows no batch
// processed, as uploaded.
func (s *Server) unprocessed(j *job) []byte {
	if j.run == nil {
		var out []byte
		for i, up := range j.uploads {
			if i > 0 {
				_, up, _ = bytes.Cut(up, []byte("\n"))
			}
			out = append(out, up...)
		}
		return out
	}
	run := j.run
	out := append([]byte(nil), run.data[:run.headerEnd]...)
	if run.offset < int64(len(run.data)) {
		out = append(out, run.data[run.offset:]...)
	}
	return out
}

// processBatch applies the pending batch as of done, in chunks of 200 records
// as Salesforce does, and writes its results, shuffled unless in order.
func (s *Server) processBatch(j *job, done time.Time) {
	run := j.run
	rows := run.pending
	ins := make([]*recordInput, len(rows))
	for i, row := range rows {
		ins[i] = readCSVRecord(j, run.cols, row)
	}
	w := s.newWriter(done)
	w.tx.final = true
	outs := make([]outcome, len(rows))
	for start := 0; start < len(rows); start += 200 {
		end := min(start+200, len(rows))
		var dups map[int]string
		if j.op == opUpsert {
			dups = duplicateExternalIDs(j.ext, ins[start:end])
		}
		for i := start; i < end; i++ {
			in := ins[i]
			switch {
			case dups[i-start] != "":
				outs[i] = failed(duplicateExternalIDError(dups[i-start]))
			case j.op == opInsert:
				outs[i] = w.insert(j.ot, in)
			case j.op == opUpdate:
				outs[i] = w.update(j.ot, in)
			case j.op == opUpsert:
				outs[i] = w.upsert(j.ot, j.ext, in)
			case len(in.errs) > 0:
				outs[i] = failed(in.errs...)
			case !in.hasID || in.id == "":
				outs[i] = failed(newError("MISSING_ARGUMENT", "Id not specified in a delete call"))
			default:
				outs[i] = w.remove(j.ot, in.id, j.op == opHardDelete)
			}
		}
	}

	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	if !s.opts.BulkResultsInOrder {
		j.rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	}
	sep := string(j.delim)
	for _, i := range order {
		o := outs[i]
		buf := &j.success
		first, second := o.id, "false"
		if o.created {
			second = "true"
		}
		if !o.ok() {
			buf = &j.failures
			first, second = o.known, formatBulkError(o.errs[0])
			j.fails++
		}
		writeQuoted(buf, first)
		buf.WriteString(sep)
		writeQuoted(buf, second)
		for _, v := range rows[i] {
			buf.WriteString(sep)
			writeQuoted(buf, v)
		}
		buf.WriteByte('\n')
	}
	j.processed += int64(len(rows))
	j.modified = done
	run.pending = nil
	run.offset = run.reader.InputOffset()
}

// writeQuoted writes a result cell as Salesforce does: always quoted.
func writeQuoted(buf *bytes.Buffer, v string) {
	buf.WriteByte('"')
	if strings.IndexByte(v, '"') < 0 {
		buf.WriteString(v)
	} else {
		buf.WriteString(strings.ReplaceAll(v, `"`, `""`))
	}
	buf.WriteByte('"')
}

// formatBulkError writes an error as sf__Error does: CODE:message:fields --.
func formatBulkError(e recordError) string {
	if len(e.Fields) == 0 {
		return e.StatusCode + ":" + e.Message + ":--"
	}
	return e.StatusCode + ":" + e.Message + ":" + strings.Join(e.Fields, ",") + " --"
}

// bulkNull is the cell value that sets a field to null; an empty cell leaves
// the field as it is.
const bulkNull = "#N/A"

// readCSVRecord reads one row of a job.
func readCSVRecord(j *job, cols []column, row []string) *recordInput {
	in := &recordInput{values: make([]assignment, 0, len(cols))}
	for i, col := range cols {
		cell := row[i]
		if col.isID {
			in.id, in.hasID = strings.TrimSpace(cell), true
			continue
		}
		if cell == "" || j.op == opDelete || j.op == opHardDelete {
			continue
		}
		if cell == bulkNull {
			in.values = append(in.values, assignment{f: col.f})
			continue
		}
		if col.fk != nil {
			if col.fk.ext.Type == TypeID {
				v, _ := convertText(col.f, cell)
				in.values = append(in.values, assignment{f: col.f, v: v})
				continue
			}
			v, bad := convertText(col.fk.ext, cell)
			if bad != nil {
				in.errs = append(in.errs, typeMismatch(col.fk.ext, cell))
				continue
			}
			fk := *col.fk
			fk.value = v
			in.values = append(in.values, assignment{f: col.f, ref: &fk})
			continue
		}
		v, bad := convertText(col.f, cell)
		if bad != nil {
			in.errs = append(in.errs, typeMismatch(col.f, cell))
			continue
		}
		in.values = append(in.values, assignment{f: col.f, v: v})
	}
	return in
}
