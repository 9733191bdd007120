package salesforce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// Bulk API 2.0 ingest: /jobs/ingest. A job takes CSV uploads while Open, is
// closed with state UploadComplete and is then processed in the background (see
// bulkproc.go) until JobComplete, Failed or Aborted.

// Job states.
const (
	StateOpen           = "Open"
	StateUploadComplete = "UploadComplete"
	StateInProgress     = "InProgress"
	StateJobComplete    = "JobComplete"
	StateFailed         = "Failed"
	StateAborted        = "Aborted"
)

// delimiters are the columnDelimiter values and their characters.
var delimiters = map[string]rune{
	"BACKQUOTE": '`', "CARET": '^', "COMMA": ',', "PIPE": '|', "SEMICOLON": ';', "TAB": '\t',
}

// job is one ingest job. The Server's mutex guards it.
type job struct {
	id, apiVersion   string
	ot               *objectType
	op               operation
	ext              *Field
	delimName        string
	delim            rune
	lineEnding       string
	state            string
	created          time.Time
	modified         time.Time
	readyAt          time.Time
	errorMessage     string
	processed, fails int64
	processingTime   time.Duration
	deleted          bool
	rng              *rand.Rand

	uploads [][]byte
	run     *jobRun // set when processing starts

	success, failures bytes.Buffer // result rows, header excluded
	header            []byte       // the header row as uploaded, terminator excluded
}

// JobInfo is a Bulk ingest job as tests see it.
type JobInfo struct {
	ID              string
	Object          string
	Operation       string
	ExternalIDField string
	State           string
	ErrorMessage    string
	ColumnDelimiter string
	LineEnding      string
	APIVersion      string
	Uploads         int
	// RecordsProcessed counts the records processed so far, failed ones included.
	RecordsProcessed int64
	RecordsFailed    int64
	Created          time.Time
	Modified         time.Time
}

func (j *job) info() JobInfo {
	out := JobInfo{
		ID: j.id, Object: j.ot.name, Operation: string(j.op), State: j.state, ErrorMessage: j.errorMessage,
		ColumnDelimiter: j.delimName, LineEnding: j.lineEnding, APIVersion: j.apiVersion, Uploads: len(j.uploads),
		RecordsProcessed: j.processed, RecordsFailed: j.fails, Created: j.created, Modified: j.modified,
	}
	if j.ext != nil {
		out.ExternalIDField = j.ext.Name
	}
	return out
}

// Job returns an ingest job, after processing what is due by now.
func (s *Server) Job(id string) (JobInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	j := s.job(id)
	if j == nil {
		return JobInfo{}, false
	}
	return j.info(), true
}

// Jobs returns the ingest jobs not deleted, in creation order.
func (s *Server) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.opts.Now())
	var out []JobInfo
	for _, j := range s.jobOrder {
		if !j.deleted {
			out = append(out, j.info())
		}
	}
	return out
}

func (s *Server) job(id string) *job {
	j := s.jobs[canonicalID(id)]
	if j == nil || j.deleted {
		return nil
	}
	return j
}

// apiVersion is written as a JSON number with its decimal: 66.0.
type apiVersion string

func (v apiVersion) MarshalJSON() ([]byte, error) { return []byte(v), nil }

// jobJSON is a job as the API answers it; the counters are in GET job info only.
type jobJSON struct {
	ID                      string     `json:"id"`
	Operation               string     `json:"operation"`
	Object                  string     `json:"object"`
	CreatedByID             string     `json:"createdById"`
	CreatedDate             string     `json:"createdDate"`
	SystemModstamp          string     `json:"systemModstamp"`
	State                   string     `json:"state"`
	ExternalIDFieldName     string     `json:"externalIdFieldName,omitempty"`
	ConcurrencyMode         string     `json:"concurrencyMode"`
	ContentType             string     `json:"contentType"`
	APIVersion              apiVersion `json:"apiVersion"`
	JobType                 string     `json:"jobType"`
	ContentURL              string     `json:"contentUrl,omitempty"`
	LineEnding              string     `json:"lineEnding"`
	ColumnDelimiter         string     `json:"columnDelimiter"`
	NumberRecordsProcessed  *int64     `json:"numberRecordsProcessed,omitempty"`
	NumberRecordsFailed     *int64     `json:"numberRecordsFailed,omitempty"`
	Retries                 *int       `json:"retries,omitempty"`
	TotalProcessingTime     *int64     `json:"totalProcessingTime,omitempty"`
	APIActiveProcessingTime *int64     `json:"apiActiveProcessingTime,omitempty"`
	ApexProcessingTime      *int64     `json:"apexProcessingTime,omitempty"`
	ErrorMessage            string     `json:"errorMessage,omitempty"`
}

func (s *Server) jobJSON(j *job, full bool) jobJSON {
	out := jobJSON{
		ID: j.id, Operation: string(j.op), Object: j.ot.name, CreatedByID: s.userID,
		CreatedDate: formatDateTime(j.created), SystemModstamp: formatDateTime(j.modified), State: j.state,
		ConcurrencyMode: "Parallel", ContentType: "CSV", APIVersion: apiVersion(j.apiVersion), JobType: "V2Ingest",
		ContentURL: "services/data/v" + j.apiVersion + "/jobs/ingest/" + j.id + "/batches",
		LineEnding: j.lineEnding, ColumnDelimiter: j.delimName, ErrorMessage: j.errorMessage,
	}
	if j.ext != nil {
		out.ExternalIDFieldName = j.ext.Name
	}
	if full {
		processed, failed, retries := j.processed, j.fails, 0
		ms := j.processingTime.Milliseconds()
		zero := int64(0)
		out.NumberRecordsProcessed, out.NumberRecordsFailed, out.Retries = &processed, &failed, &retries
		out.TotalProcessingTime, out.APIActiveProcessingTime, out.ApexProcessingTime = &ms, &ms, &zero
	}
	return out
}

func (s *Server) routeJobs(c *call, rest []string) reply {
	if len(rest) == 0 {
		switch c.r.Method {
		case http.MethodPost:
			return s.createJob(c)
		case http.MethodGet:
			return s.listJobs()
		}
		return only(c, nil, http.MethodGet, http.MethodPost)
	}
	j := s.job(rest[0])
	if j == nil {
		return notFound()
	}
	switch {
	case len(rest) == 1:
		switch c.r.Method {
		case http.MethodGet:
			return jsonReply(http.StatusOK, s.jobJSON(j, true))
		case http.MethodPatch:
			return s.patchJob(c, j)
		case http.MethodDelete:
			return s.deleteJob(j)
		}
		return only(c, nil, http.MethodGet, http.MethodPatch, http.MethodDelete)
	case len(rest) == 2 && rest[1] == "batches":
		return only(c, func() reply { return s.upload(c, j) }, http.MethodPut)
	case len(rest) == 2 && slices.Contains([]string{"successfulResults", "failedResults", "unprocessedrecords"}, rest[1]):
		return only(c, func() reply { return s.jobResults(j, rest[1]) }, http.MethodGet)
	}
	return notFound()
}

type jobRequest struct {
	Object              string `json:"object"`
	Operation           string `json:"operation"`
	ExternalIDFieldName string `json:"externalIdFieldName"`
	ContentType         string `json:"contentType"`
	ColumnDelimiter     string `json:"columnDelimiter"`
	LineEnding          string `json:"lineEnding"`
	AssignmentRuleID    string `json:"assignmentRuleId"`
}

func invalidJob(message string) reply { return badRequest("INVALIDJOB", "InvalidJob : "+message) }

// maxMultipartContent is the most characters of CSV a multipart create job
// request may carry.
const maxMultipartContent = 100_000

// readMultipartJob reads a multipart/form-data create job request: the job part
// (JSON) and the content part (CSV).
func readMultipartJob(c *call, boundary string) (jobJSON, content []byte, rep *reply) {
	fail := func(message string) ([]byte, []byte, *reply) {
		r := badRequest("INVALIDJOB", "InvalidJob : "+message)
		return nil, nil, &r
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail("Unable to read the multipart request: " + err.Error())
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return fail("Unable to read the multipart request: " + err.Error())
		}
		switch part.FormName() {
		case "job":
			jobJSON = data
		case "content":
			content = data
		}
	}
	switch {
	case jobJSON == nil:
		return fail("the multipart request has no job part")
	case content == nil:
		return fail("the multipart request has no content part")
	case utf8.RuneCount(content) > maxMultipartContent:
		return fail(fmt.Sprintf("the content part has more than %d characters: upload the data with PUT /jobs/ingest/{id}/batches", maxMultipartContent))
	}
	return jobJSON, content, nil
}

// createJob answers POST /jobs/ingest: a JSON job, Open; or a multipart request
// with the job and its data, closed at once (UploadComplete).
func (s *Server) createJob(c *call) reply {
	body, content := c.body, []byte(nil)
	mt, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	multipartJob := mt == "multipart/form-data"
	if multipartJob {
		var rep *reply
		if body, content, rep = readMultipartJob(c, params["boundary"]); rep != nil {
			return *rep
		}
	}
	var req jobRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return badRequest("JSON_PARSER_ERROR", "Unable to read the request body as JSON: "+err.Error())
	}
	if req.ContentType == "" {
		req.ContentType = "CSV"
	}
	if req.ColumnDelimiter == "" {
		req.ColumnDelimiter = "COMMA"
	}
	if req.LineEnding == "" {
		req.LineEnding = "LF"
	}
	op := operation(req.Operation)
	ot := s.object(req.Object)
	switch {
	case req.Object == "":
		return invalidJob("object is required")
	case ot == nil:
		return invalidJob(fmt.Sprintf(unsupportedType, req.Object))
	case !slices.Contains([]operation{opInsert, opUpdate, opUpsert, opDelete, opHardDelete}, op):
		return invalidJob(fmt.Sprintf("Invalid operation: %q: want insert, update, upsert, delete or hardDelete", req.Operation))
	case req.ContentType != "CSV":
		return invalidJob("Invalid contentType: " + req.ContentType + ": only CSV is supported")
	case delimiters[req.ColumnDelimiter] == 0:
		return invalidJob("Invalid columnDelimiter: " + req.ColumnDelimiter)
	case req.LineEnding != "LF" && req.LineEnding != "CRLF":
		return invalidJob("Invalid lineEnding: " + req.LineEnding)
	}
	var ext *Field
	if op == opUpsert {
		if req.ExternalIDFieldName == "" {
			return invalidJob(fmt.Sprintf("External ID was blank for %s. An External ID must be specified for upsert.", ot.name))
		}
		ext = ot.field(req.ExternalIDFieldName)
		switch {
		case ext == nil:
			return invalidJob("Field name not found : " + req.ExternalIDFieldName)
		case !ext.ExternalID && ext.Type != TypeID:
			return invalidJob(fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", ext.Name, ot.name))
		}
	}
	s.jobSeq++
	j := &job{
		id: newID("750", s.jobSeq), apiVersion: c.version, ot: ot, op: op, ext: ext,
		delimName: req.ColumnDelimiter, delim: delimiters[req.ColumnDelimiter], lineEnding: req.LineEnding,
		state: StateOpen, created: c.received, modified: c.received,
		rng: rand.New(rand.NewPCG(s.opts.Seed, s.jobSeq)),
	}
	s.jobs[j.id] = j
	s.jobOrder = append(s.jobOrder, j)
	if multipartJob {
		j.header = bytes.Clone(headerLine(content))
		j.uploads = append(j.uploads, content)
		s.closeJob(j, c.received)
	}
	return jsonReply(http.StatusOK, s.jobJSON(j, false))
}

func (s *Server) listJobs() reply {
	records := []jobJSON{}
	for _, j := range s.jobOrder {
		if !j.deleted {
			records = append(records, s.jobJSON(j, false))
		}
	}
	return jsonReply(http.StatusOK, map[string]any{"done": true, "records": records, "nextRecordsUrl": nil})
}

func invalidState(j *job, action string) reply {
	return errorReply(http.StatusConflict, apiError{ErrorCode: "INVALIDJOBSTATE",
		Message: fmt.Sprintf("Unable to %s a job in state %s", action, j.state)})
}

// upload takes a CSV upload: 201 with no body.
func (s *Server) upload(c *call, j *job) reply {
	if j.state != StateOpen {
		return invalidState(j, "upload data to")
	}
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt != "text/csv" {
		return badRequest("INVALIDCONTENTTYPE", fmt.Sprintf("Content-Type %q: job data must be text/csv", c.r.Header.Get("Content-Type")))
	}
	if encoded := int64(len(c.body)+2) / 3 * 4; encoded > s.opts.MaxUploadBytes {
		return errorReply(http.StatusRequestEntityTooLarge, apiError{ErrorCode: "EXCEEDED_QUOTA",
			Message: fmt.Sprintf("The upload is %d bytes once base64-encoded: more than the limit of %d", encoded, s.opts.MaxUploadBytes)})
	}
	if s.opts.BulkMultipleUploads && len(j.uploads) > 0 {
		first, next := headerLine(j.uploads[0]), headerLine(c.body)
		if !bytes.Equal(first, next) {
			return badRequest("INVALIDBATCH", "InvalidBatch : every upload of a job must have the same header row")
		}
	}
	if len(j.uploads) == 0 {
		j.header = bytes.Clone(headerLine(c.body))
	}
	j.uploads = append(j.uploads, bytes.Clone(c.body))
	j.modified = c.received
	return reply{status: http.StatusCreated}
}

// headerLine returns the first line of CSV data, terminator excluded.
func headerLine(data []byte) []byte {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

type stateRequest struct {
	State string `json:"state"`
}

func (s *Server) patchJob(c *call, j *job) reply {
	var req stateRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		return badRequest("JSON_PARSER_ERROR", "Unable to read the request body as JSON: "+err.Error())
	}
	switch req.State {
	case StateUploadComplete:
		if j.state != StateOpen {
			return invalidState(j, "close")
		}
		if len(j.uploads) > 1 && !s.opts.BulkMultipleUploads {
			return invalidJob(fmt.Sprintf("Found multipe contents for job: <%s>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.", j.id))
		}
		s.closeJob(j, c.received)
	case StateAborted:
		if j.state != StateOpen && j.state != StateUploadComplete && j.state != StateInProgress {
			return invalidState(j, "abort")
		}
		s.abort(j, c.received)
	default:
		return badRequest("INVALIDJOBSTATE", fmt.Sprintf("Invalid state %q: a job can be set to UploadComplete or Aborted", req.State))
	}
	return jsonReply(http.StatusOK, s.jobJSON(j, false))
}

// closeJob sets a job UploadComplete and queues it for processing.
func (s *Server) closeJob(j *job, now time.Time) {
	j.state, j.modified = StateUploadComplete, now
	j.readyAt = now.Add(s.opts.BulkStartDelay)
	s.bulk.jobs = append(s.bulk.jobs, j)
}

// deleteJob deletes a job that is not Open or InProgress: 204.
func (s *Server) deleteJob(j *job) reply {
	if j.state == StateOpen || j.state == StateInProgress {
		return invalidState(j, "delete")
	}
	j.deleted = true
	j.uploads, j.run = nil, nil
	j.success, j.failures = bytes.Buffer{}, bytes.Buffer{}
	return reply{status: http.StatusNoContent}
}

// jobResults answers the results CSVs: the rows processed so far.
func (s *Server) jobResults(j *job, kind string) reply {
	var out bytes.Buffer
	sep := string(j.delim)
	switch kind {
	case "successfulResults":
		out.WriteString(`"sf__Id"` + sep + `"sf__Created"`)
		if len(j.header) > 0 {
			out.WriteString(sep)
			out.Write(j.header)
		}
		out.WriteString("\n")
		out.Write(j.success.Bytes())
	case "failedResults":
		out.WriteString(`"sf__Id"` + sep + `"sf__Error"`)
		if len(j.header) > 0 {
			out.WriteString(sep)
			out.Write(j.header)
		}
		out.WriteString("\n")
		out.Write(j.failures.Bytes())
	default:
		out.Write(s.unprocessed(j))
	}
	return reply{status: http.StatusOK, body: out.Bytes(), contentType: "text/csv"}
}
