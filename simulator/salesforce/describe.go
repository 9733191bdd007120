package salesforce

import "net/http"

// objectSummary is an object as GET /sobjects lists it.
type objectSummary struct {
	Activateable        bool              `json:"activateable"`
	Createable          bool              `json:"createable"`
	Custom              bool              `json:"custom"`
	CustomSetting       bool              `json:"customSetting"`
	Deletable           bool              `json:"deletable"`
	DeprecatedAndHidden bool              `json:"deprecatedAndHidden"`
	FeedEnabled         bool              `json:"feedEnabled"`
	KeyPrefix           string            `json:"keyPrefix"`
	Label               string            `json:"label"`
	LabelPlural         string            `json:"labelPlural"`
	Layoutable          bool              `json:"layoutable"`
	Mergeable           bool              `json:"mergeable"`
	MruEnabled          bool              `json:"mruEnabled"`
	Name                string            `json:"name"`
	Queryable           bool              `json:"queryable"`
	Replicateable       bool              `json:"replicateable"`
	Retrieveable        bool              `json:"retrieveable"`
	Searchable          bool              `json:"searchable"`
	Triggerable         bool              `json:"triggerable"`
	Undeletable         bool              `json:"undeletable"`
	Updateable          bool              `json:"updateable"`
	URLs                map[string]string `json:"urls"`
}

func (ot *objectType) summary(version string) objectSummary {
	base := "/services/data/v" + version + "/sobjects/" + ot.name
	return objectSummary{
		Createable: true, Custom: ot.custom, Deletable: true, FeedEnabled: !ot.custom,
		KeyPrefix: ot.prefix, Label: ot.label, LabelPlural: ot.plural, Layoutable: true,
		Mergeable: ot.name == "Account" || ot.name == "Contact" || ot.name == "Lead", MruEnabled: true,
		Name: ot.name, Queryable: true, Replicateable: true, Retrieveable: true, Searchable: true,
		Triggerable: true, Undeletable: true, Updateable: true,
		URLs: map[string]string{
			"sobject":     base,
			"describe":    base + "/describe",
			"rowTemplate": base + "/{ID}",
		},
	}
}

// objectDescribe is GET /sobjects/{SObject}/describe.
type objectDescribe struct {
	objectSummary
	ChildRelationships []any       `json:"childRelationships"`
	Fields             []fieldJSON `json:"fields"`
	RecordTypeInfos    []any       `json:"recordTypeInfos"`
}

func (s *Server) routeSObjects(c *call, rest []string) reply {
	if len(rest) == 0 {
		return only(c, func() reply {
			list := make([]objectSummary, len(s.order))
			for i, ot := range s.order {
				list[i] = ot.summary(c.version)
			}
			return jsonReply(http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list})
		}, http.MethodGet)
	}
	ot := s.object(rest[0])
	if ot == nil || len(rest) > 3 {
		return notFound()
	}
	switch {
	case len(rest) == 2 && rest[1] != "describe":
		return only(c, func() reply { return s.getRecord(c, ot, rest[1]) }, http.MethodGet)
	case len(rest) == 3:
		return only(c, func() reply { return s.getRecordByExternalID(c, ot, rest[1], rest[2]) }, http.MethodGet)
	}
	if len(rest) == 1 {
		return only(c, func() reply {
			return jsonReply(http.StatusOK, map[string]any{"objectDescribe": ot.summary(c.version), "recentItems": []any{}})
		}, http.MethodGet)
	}
	return only(c, func() reply {
		d := objectDescribe{objectSummary: ot.summary(c.version), ChildRelationships: []any{}, RecordTypeInfos: []any{}}
		for _, f := range ot.order {
			d.Fields = append(d.Fields, f.json())
		}
		return jsonReply(http.StatusOK, d)
	}, http.MethodGet)
}
