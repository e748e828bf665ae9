package dynamostore

// MarshalOrder lets tests write many orders in a BatchWriteItem, exactly
// as the store writes each.
var MarshalOrder = marshalOrder
