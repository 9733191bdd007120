package salesforce

import "strings"

// The standard objects a new org has, with the fields a Reverse ETL sync
// writes most: Salesforce's names, labels, types and lengths. Standard picklists
// are unrestricted, as in a new org: any value is accepted.

// objectDef describes an object of the catalogue.
type objectDef struct {
	label, plural, prefix string
	fields                func() []Field
}

var standardObjects = map[string]objectDef{
	"Account":     {"Account", "Accounts", "001", accountFields},
	"Contact":     {"Contact", "Contacts", "003", contactFields},
	"Lead":        {"Lead", "Leads", "00Q", leadFields},
	"Opportunity": {"Opportunity", "Opportunities", "006", opportunityFields},
}

// systemFields are every object's: the id, the owner and the audit fields.
func systemFields(object string) []Field {
	return []Field{
		{Name: "Id", Label: object + " ID", Type: TypeID, ReadOnly: true},
		{Name: "IsDeleted", Label: "Deleted", Type: TypeBoolean, ReadOnly: true},
		{Name: "OwnerId", Label: "Owner ID", Type: TypeReference, ReferenceTo: []string{"User"}, RelationshipName: "Owner"},
		{Name: "CreatedDate", Label: "Created Date", Type: TypeDateTime, ReadOnly: true},
		{Name: "CreatedById", Label: "Created By ID", Type: TypeReference, ReferenceTo: []string{"User"}, RelationshipName: "CreatedBy", ReadOnly: true},
		{Name: "LastModifiedDate", Label: "Last Modified Date", Type: TypeDateTime, ReadOnly: true},
		{Name: "LastModifiedById", Label: "Last Modified By ID", Type: TypeReference, ReferenceTo: []string{"User"}, RelationshipName: "LastModifiedBy", ReadOnly: true},
		{Name: "SystemModstamp", Label: "System Modstamp", Type: TypeDateTime, ReadOnly: true},
	}
}

var (
	sources    = []string{"Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"}
	industries = []string{"Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
		"Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment",
		"Environmental", "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance",
		"Machinery", "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
		"Telecommunications", "Transportation", "Utilities", "Other"}
	ratings = []string{"Hot", "Warm", "Cold"}
)

func address(prefix string) []Field {
	label := func(s string) string { return strings.TrimSpace(prefix + " " + s) }
	return []Field{
		{Name: prefix + "Street", Label: label("Street"), Type: TypeTextArea, Length: 255},
		{Name: prefix + "City", Label: label("City"), Type: TypeString, Length: 40},
		{Name: prefix + "State", Label: label("State/Province"), Type: TypeString, Length: 80},
		{Name: prefix + "PostalCode", Label: label("Zip/Postal Code"), Type: TypeString, Length: 20},
		{Name: prefix + "Country", Label: label("Country"), Type: TypeString, Length: 80},
	}
}

func accountFields() []Field {
	fs := []Field{
		{Name: "Name", Label: "Account Name", Type: TypeString, Length: 255, Required: true},
		{Name: "AccountNumber", Label: "Account Number", Type: TypeString, Length: 40},
		{Name: "Type", Label: "Account Type", Type: TypePicklist, Values: []string{"Prospect", "Customer - Direct",
			"Customer - Channel", "Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other"}},
		{Name: "ParentId", Label: "Parent Account ID", Type: TypeReference, ReferenceTo: []string{"Account"}, RelationshipName: "Parent"},
		{Name: "Industry", Type: TypePicklist, Values: industries},
		{Name: "Rating", Label: "Account Rating", Type: TypePicklist, Values: ratings},
		{Name: "AccountSource", Label: "Account Source", Type: TypePicklist, Values: sources},
		{Name: "Ownership", Type: TypePicklist, Values: []string{"Public", "Private", "Subsidiary", "Other"}},
		{Name: "Phone", Label: "Account Phone", Type: TypePhone},
		{Name: "Fax", Label: "Account Fax", Type: TypePhone},
		{Name: "Website", Type: TypeURL},
		{Name: "Sic", Label: "SIC Code", Type: TypeString, Length: 20},
		{Name: "TickerSymbol", Label: "Ticker Symbol", Type: TypeString, Length: 20},
		{Name: "NumberOfEmployees", Label: "Employees", Type: TypeInt, Precision: 8},
		{Name: "AnnualRevenue", Label: "Annual Revenue", Type: TypeCurrency, Precision: 18, Scale: 0},
		{Name: "Description", Label: "Account Description", Type: TypeTextArea, Length: 32_000},
	}
	fs = append(fs, address("Billing")...)
	return append(fs, address("Shipping")...)
}

func contactFields() []Field {
	fs := []Field{
		{Name: "LastName", Label: "Last Name", Type: TypeString, Length: 80, Required: true},
		{Name: "FirstName", Label: "First Name", Type: TypeString, Length: 40},
		{Name: "Salutation", Type: TypePicklist, Values: []string{"Mr.", "Ms.", "Mrs.", "Dr.", "Prof."}},
		{Name: "AccountId", Label: "Account ID", Type: TypeReference, ReferenceTo: []string{"Account"}},
		{Name: "ReportsToId", Label: "Reports To ID", Type: TypeReference, ReferenceTo: []string{"Contact"}, RelationshipName: "ReportsTo"},
		{Name: "Email", Type: TypeEmail},
		{Name: "Phone", Label: "Business Phone", Type: TypePhone},
		{Name: "MobilePhone", Label: "Mobile Phone", Type: TypePhone},
		{Name: "HomePhone", Label: "Home Phone", Type: TypePhone},
		{Name: "Fax", Label: "Business Fax", Type: TypePhone},
		{Name: "Title", Type: TypeString, Length: 128},
		{Name: "Department", Type: TypeString, Length: 80},
		{Name: "Birthdate", Type: TypeDate},
		{Name: "LeadSource", Label: "Lead Source", Type: TypePicklist, Values: sources},
		{Name: "HasOptedOutOfEmail", Label: "Email Opt Out", Type: TypeBoolean, Default: false},
		{Name: "DoNotCall", Label: "Do Not Call", Type: TypeBoolean, Default: false},
		{Name: "Description", Label: "Contact Description", Type: TypeTextArea, Length: 32_000},
	}
	return append(fs, address("Mailing")...)
}

func leadFields() []Field {
	fs := []Field{
		{Name: "LastName", Label: "Last Name", Type: TypeString, Length: 80, Required: true},
		{Name: "FirstName", Label: "First Name", Type: TypeString, Length: 40},
		{Name: "Company", Type: TypeString, Length: 255, Required: true},
		{Name: "Title", Type: TypeString, Length: 128},
		{Name: "Email", Type: TypeEmail},
		{Name: "Phone", Type: TypePhone},
		{Name: "MobilePhone", Label: "Mobile Phone", Type: TypePhone},
		{Name: "Website", Type: TypeURL},
		{Name: "Status", Label: "Lead Status", Type: TypePicklist, Required: true, Default: "Open - Not Contacted",
			Values: []string{"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"}},
		{Name: "Industry", Type: TypePicklist, Values: industries},
		{Name: "Rating", Type: TypePicklist, Values: ratings},
		{Name: "LeadSource", Label: "Lead Source", Type: TypePicklist, Values: sources},
		{Name: "AnnualRevenue", Label: "Annual Revenue", Type: TypeCurrency, Precision: 18, Scale: 0},
		{Name: "NumberOfEmployees", Label: "Employees", Type: TypeInt, Precision: 8},
		{Name: "HasOptedOutOfEmail", Label: "Email Opt Out", Type: TypeBoolean, Default: false},
		{Name: "Description", Type: TypeTextArea, Length: 32_000},
	}
	return append(fs, address("")...)
}

func opportunityFields() []Field {
	return []Field{
		{Name: "Name", Label: "Name", Type: TypeString, Length: 120, Required: true},
		{Name: "AccountId", Label: "Account ID", Type: TypeReference, ReferenceTo: []string{"Account"}},
		{Name: "StageName", Label: "Stage", Type: TypePicklist, Required: true, Values: []string{"Prospecting",
			"Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers", "Perception Analysis",
			"Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"}},
		{Name: "CloseDate", Label: "Close Date", Type: TypeDate, Required: true},
		{Name: "Amount", Type: TypeCurrency, Precision: 18, Scale: 2},
		{Name: "Probability", Label: "Probability (%)", Type: TypePercent, Precision: 3, Scale: 0},
		{Name: "Type", Label: "Opportunity Type", Type: TypePicklist, Values: []string{"Existing Customer - Upgrade",
			"Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer"}},
		{Name: "LeadSource", Label: "Lead Source", Type: TypePicklist, Values: sources},
		{Name: "NextStep", Label: "Next Step", Type: TypeString, Length: 255},
		{Name: "Description", Type: TypeTextArea, Length: 32_000},
	}
}

// customNameField is a custom object's Name, optional as the API sees it.
func customNameField() Field {
	return Field{Name: "Name", Label: "Name", Type: TypeString, Length: 80}
}
