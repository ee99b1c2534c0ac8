//! Operations as Amazon receives them: Listings Items `patchListingsItem` requests and
//! JSON_LISTINGS_FEED documents, as the types the client sends ([`Request`], [`FeedDocument`],
//! from `crate::amazon`). Conformance to Amazon's schemas is tested in
//! tests/plan_conformance.rs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Operation, Plan, PlanError};
use crate::amazon::feeds::{
    FEED_MAX_BYTES, FEED_MAX_MARKETPLACES, FEED_MAX_MESSAGES, FEED_VERSION, FeedDocument,
};
use crate::amazon::request::{Request, listings_item_path};
use crate::amazon::{ATTRIBUTE_PATH, PRODUCT_TYPE, PatchOp};
use crate::marketplaces::Region;

/// The patch that writes one operation's channels: `merge` (or `replace`) of
/// `fulfillment_availability` with every channel and its quantity, and its handling time and
/// restock date only when the policy sets them (so other plans' requests stay as they were).
fn patches(op_kind: PatchOp, op: &Operation) -> Value {
    let value: Vec<Value> = op.channels.iter().map(availability_entry).collect();
    json!([{"op": op_kind.name(), "path": ATTRIBUTE_PATH, "value": value}])
}

/// One `fulfillment_availability` entry (the product type schema's field names).
fn availability_entry(c: &crate::model::ChannelQty) -> Value {
    let mut v = json!({"fulfillment_channel_code": c.channel, "quantity": c.quantity});
    if let Value::Object(m) = &mut v {
        if let Some(d) = c.lead_time_to_ship_max_days {
            m.insert("lead_time_to_ship_max_days".into(), json!(d));
        }
        if let Some(d) = &c.restock_date {
            m.insert("restock_date".into(), json!(d));
        }
    }
    v
}

/// The `patchListingsItem` request for one operation.
///
/// `marketplaceIds` names only the operation's first marketplace: Amazon keeps one quantity per
/// seller + seller SKU and applies it in every marketplace where the SKU is listed, whichever
/// marketplace the request names (notes/spapi.md sec. 2); naming one keeps the request valid where
/// `maxItems: 1` still applies (it did for PATCH until recently, and still does for PUT/DELETE).
/// `validate_only` adds `mode=VALIDATION_PREVIEW`: Amazon checks the request without saving it.
pub fn patch_request(plan: &Plan, op: &Operation, validate_only: bool) -> Request {
    patch_request_for(
        &plan.seller_id,
        &plan.issue_locale,
        plan.patch_op,
        op,
        validate_only,
    )
}

/// [`patch_request`] from the plan's header fields it needs (a plan read one operation at a
/// time is not held).
pub fn patch_request_for(
    seller_id: &str,
    issue_locale: &str,
    patch_op: PatchOp,
    op: &Operation,
    validate_only: bool,
) -> Request {
    let path = listings_item_path(seller_id, &op.seller_sku);
    // `build` and `read` guarantee at least one marketplace ID; an empty value would be refused
    // by Amazon rather than applied anywhere unexpected.
    let marketplace = op.marketplace_ids.first().cloned().unwrap_or_default();
    let mut query = vec![
        ("marketplaceIds".to_string(), marketplace),
        ("issueLocale".to_string(), issue_locale.to_string()),
    ];
    if validate_only {
        query.push(("mode".to_string(), "VALIDATION_PREVIEW".to_string()));
    }
    Request {
        method: "PATCH".to_string(),
        path,
        query,
        body: json!({"productType": PRODUCT_TYPE, "patches": patches(patch_op, op)}),
    }
}

/// The feed documents for the whole plan: one set per region, split so that no document has more
/// than 25,000 messages or 10 MiB (compact serialization). An empty plan has no documents.
pub fn feed_documents(plan: &Plan) -> Result<Vec<FeedDocument>, PlanError> {
    feed_documents_with_limits(plan, FEED_MAX_MESSAGES, FEED_MAX_BYTES)
}

/// [`feed_documents`] with other limits (for tests).
pub fn feed_documents_with_limits(
    plan: &Plan,
    max_messages: usize,
    max_bytes: usize,
) -> Result<Vec<FeedDocument>, PlanError> {
    let splits = feed_splits_with_limits(plan, max_messages, max_bytes)?;
    Ok(splits.iter().map(|s| feed_document(plan, s)).collect())
}

/// Which operations go in which feed document, without the documents: what a plan in memory
/// turns into documents one at a time ([`feed_document`]). A document's messages as JSON values
/// take a few kilobytes each: a plan of a million offers made into documents all at once took
/// more memory than a CI runner has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSplit {
    pub region: Region,
    /// For createFeed's `marketplaceIds`: every marketplace of the region the plan writes to.
    pub marketplace_ids: Vec<String>,
    /// The document's operations: indices into the plan's `operations`, in order.
    pub operations: Vec<usize>,
}

/// The split of [`feed_documents`]: the same documents, the same errors.
pub fn feed_splits(plan: &Plan) -> Result<Vec<FeedSplit>, PlanError> {
    feed_splits_with_limits(plan, FEED_MAX_MESSAGES, FEED_MAX_BYTES)
}

/// [`feed_splits`] with other limits (for tests). Laid out by [`FeedSizer`], as a plan read
/// from its file is: one rule for both.
pub fn feed_splits_with_limits(
    plan: &Plan,
    max_messages: usize,
    max_bytes: usize,
) -> Result<Vec<FeedSplit>, PlanError> {
    let mut sizer = FeedSizer::default();
    for op in &plan.operations {
        sizer.see(op);
    }
    let layout = sizer.finish(FeedHeader::of_plan(plan), max_messages, max_bytes, |i| {
        plan.operations
            .get(i)
            .cloned()
            .ok_or_else(|| PlanError::ChangedWhileReading {
                path: std::path::PathBuf::new(),
            })
    })?;
    let mut splits: Vec<FeedSplit> = layout
        .docs
        .iter()
        .map(|d| FeedSplit {
            region: d.region,
            marketplace_ids: layout.markets.get(&d.region).cloned().unwrap_or_default(),
            operations: Vec::with_capacity(d.operations),
        })
        .collect();
    let mut open = layout.openings();
    for (i, op) in plan.operations.iter().enumerate() {
        // `doc` numbers one of `layout.docs`, which `splits` mirrors.
        if let Some(split) = open.next_doc(op.region).and_then(|d| splits.get_mut(d)) {
            split.operations.push(i);
        }
    }
    Ok(splits)
}

/// The feed document of one split (from [`feed_splits`] of the same plan).
pub fn feed_document(plan: &Plan, split: &FeedSplit) -> FeedDocument {
    let ops: Vec<&Operation> = split
        .operations
        .iter()
        .filter_map(|&i| plan.operations.get(i))
        .collect();
    document_of(
        FeedHeader::of_plan(plan),
        split.region,
        &split.marketplace_ids,
        &ops,
    )
}

/// What a plan's feed documents take from its header.
#[derive(Clone, Copy, Debug)]
pub struct FeedHeader<'a> {
    pub seller_id: &'a str,
    pub issue_locale: &'a str,
    pub patch_op: PatchOp,
}

impl<'a> FeedHeader<'a> {
    pub fn of_plan(plan: &'a Plan) -> Self {
        FeedHeader {
            seller_id: &plan.seller_id,
            issue_locale: &plan.issue_locale,
            patch_op: plan.patch_op,
        }
    }

    pub fn of(header: &'a super::PlanHeader) -> Self {
        FeedHeader {
            seller_id: &header.seller_id,
            issue_locale: &header.issue_locale,
            patch_op: header.patch_op,
        }
    }
}

/// The document of `ops` (all of `region`), in order.
pub fn document_of<O: std::borrow::Borrow<Operation>>(
    header: FeedHeader,
    region: Region,
    marketplace_ids: &[String],
    ops: &[O],
) -> FeedDocument {
    let (ids, messages): (Vec<u32>, Vec<Value>) = ops
        .iter()
        .map(|op| {
            let op = op.borrow();
            (op.id, feed_message(header.patch_op, op))
        })
        .unzip();
    FeedDocument {
        region,
        marketplace_ids: marketplace_ids.to_vec(),
        operation_ids: ids,
        body: json!({"header": feed_header(header), "messages": messages}),
    }
}

/// A plan's operations measured one at a time, in file order, to lay out its feed documents
/// without holding it: each operation's region and message length (five bytes), and each
/// region's marketplaces. Lengths are kept without the patch op's name, which is in the plan's
/// header, and a file may put its header after its operations.
#[derive(Debug, Default)]
pub struct FeedSizer {
    regions: Vec<Region>,
    lens: Vec<u32>,
    markets: BTreeMap<Region, Vec<String>>,
}

impl FeedSizer {
    pub fn see(&mut self, op: &Operation) {
        self.regions.push(op.region);
        let len = message_len(PatchOp::Merge, op) - PatchOp::Merge.name().len();
        // A message of 4 GiB is refused as too large all the same (its length is measured
        // again then, exactly).
        self.lens.push(u32::try_from(len).unwrap_or(u32::MAX));
        let markets = self.markets.entry(op.region).or_default();
        for id in &op.marketplace_ids {
            if !markets.contains(id) {
                markets.push(id.clone());
            }
        }
    }

    /// The documents, in the order [`feed_splits`] numbers them (by region, then the plan's
    /// order), with its errors in its order. `op_at(i)` reads the `i`th operation again, only
    /// to name a message too large.
    pub fn finish(
        self,
        header: FeedHeader,
        max_messages: usize,
        max_bytes: usize,
        op_at: impl FnOnce(usize) -> Result<Operation, PlanError>,
    ) -> Result<FeedLayout, PlanError> {
        // `{"header":…,"messages":[]}`: what a document costs before its messages.
        let base = json!({"header": feed_header(header), "messages": []})
            .to_string()
            .len();
        let name = header.patch_op.name().len();
        let mut docs = Vec::new();
        for (&region, marketplace_ids) in &self.markets {
            if marketplace_ids.len() > FEED_MAX_MARKETPLACES {
                return Err(PlanError::TooManyMarketplaces {
                    region,
                    count: marketplace_ids.len(),
                    max: FEED_MAX_MARKETPLACES,
                });
            }
            let mut count = 0usize;
            let mut bytes = base;
            let ops = self.regions.iter().zip(&self.lens).enumerate();
            for (i, (_, &len)) in ops.filter(|(_, (r, _))| **r == region) {
                let len = len as usize + name;
                if base + len > max_bytes {
                    let op = op_at(i)?;
                    return Err(PlanError::MessageTooLarge {
                        bytes: message_len(header.patch_op, &op),
                        seller_sku: op.seller_sku,
                        max: max_bytes,
                    });
                }
                // A comma separates it from the previous message.
                let cost = len + usize::from(count > 0);
                if count == max_messages || bytes + cost > max_bytes {
                    docs.push(DocShape {
                        region,
                        operations: count,
                    });
                    count = 0;
                    bytes = base;
                }
                bytes += len + usize::from(count > 0);
                count += 1;
            }
            if count > 0 {
                docs.push(DocShape {
                    region,
                    operations: count,
                });
            }
        }
        Ok(FeedLayout {
            regions: self.regions,
            markets: self.markets,
            docs,
        })
    }
}

/// One document of a [`FeedLayout`]: its region and how many operations it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocShape {
    pub region: Region,
    pub operations: usize,
}

/// A plan's feed documents, laid out by [`FeedSizer`]: each operation's region (in file order)
/// and each document's size. The documents of a region take its operations in order, so a
/// second read of the plan fills them one operation at a time ([`FeedAssembler`]).
#[derive(Debug)]
pub struct FeedLayout {
    regions: Vec<Region>,
    markets: BTreeMap<Region, Vec<String>>,
    pub docs: Vec<DocShape>,
}

impl FeedLayout {
    pub fn operations(&self) -> usize {
        self.regions.len()
    }

    /// For createFeed's `marketplaceIds`: every marketplace of `region` the plan writes to.
    pub fn marketplace_ids(&self, region: Region) -> &[String] {
        self.markets.get(&region).map_or(&[], Vec::as_slice)
    }

    /// The regions of the documents, first to last, each once.
    pub fn regions(&self) -> impl Iterator<Item = Region> + '_ {
        self.markets.keys().copied()
    }

    fn openings(&self) -> Openings {
        let mut queue: BTreeMap<Region, std::collections::VecDeque<(usize, usize)>> =
            BTreeMap::new();
        for (i, d) in self.docs.iter().enumerate() {
            queue
                .entry(d.region)
                .or_default()
                .push_back((i, d.operations));
        }
        Openings { queue }
    }
}

/// Which document the next operation of a region goes in.
struct Openings {
    /// Per region: its documents not yet full, as (index, operations still wanted).
    queue: BTreeMap<Region, std::collections::VecDeque<(usize, usize)>>,
}

impl Openings {
    fn next_doc(&mut self, region: Region) -> Option<usize> {
        let q = self.queue.get_mut(&region)?;
        let (doc, left) = q.front_mut()?;
        let doc = *doc;
        *left -= 1;
        if *left == 0 {
            q.pop_front();
        }
        Some(doc)
    }
}

/// A finished document of a plan read one operation at a time: its number in the layout, the
/// document, and its operations' seller SKUs (parallel to `document.operation_ids`).
#[derive(Debug)]
pub struct AssembledDoc {
    pub index: usize,
    pub document: FeedDocument,
    pub seller_skus: Vec<String>,
}

/// Fills a [`FeedLayout`]'s documents from a second read of the same plan, one operation at a
/// time: a document is made once its last operation is read, so at most one document per
/// region (in operations) is held. `only` keeps the documents of one region (the others'
/// operations are skipped), for a reader that must print them in order.
pub struct FeedAssembler<'a> {
    layout: &'a FeedLayout,
    header: FeedHeader<'a>,
    only: Option<Region>,
    next: usize,
    open: Openings,
    filling: BTreeMap<usize, Vec<Operation>>,
}

impl<'a> FeedAssembler<'a> {
    pub fn new(layout: &'a FeedLayout, header: FeedHeader<'a>, only: Option<Region>) -> Self {
        FeedAssembler {
            layout,
            header,
            only,
            next: 0,
            open: layout.openings(),
            filling: BTreeMap::new(),
        }
    }

    /// Takes the next operation of the plan; returns the document it completes, if it does.
    /// An operation the layout did not see (another region, one too many) is an error: the
    /// plan is not the one laid out.
    pub fn push(&mut self, op: Operation) -> Result<Option<AssembledDoc>, String> {
        let i = self.next;
        self.next += 1;
        match self.layout.regions.get(i) {
            Some(&r) if r == op.region => {}
            Some(_) => return Err(format!("operation {} is not in the region it was", i + 1)),
            None => return Err(format!("operation {} was not there before", i + 1)),
        }
        let Some(doc) = self.open.next_doc(op.region) else {
            return Err(format!("operation {} has no document", i + 1));
        };
        if self.only.is_some_and(|r| r != op.region) {
            return Ok(None);
        }
        let Some(&DocShape {
            region,
            operations: want,
        }) = self.layout.docs.get(doc)
        else {
            return Err(format!("operation {} has no document", i + 1));
        };
        let ops = self
            .filling
            .entry(doc)
            .or_insert_with(|| Vec::with_capacity(want.min(4096)));
        ops.push(op);
        if ops.len() < want {
            return Ok(None);
        }
        let ops = self.filling.remove(&doc).unwrap_or_default();
        let document = document_of(
            self.header,
            region,
            self.layout.marketplace_ids(region),
            &ops,
        );
        let seller_skus = ops.into_iter().map(|op| op.seller_sku).collect();
        Ok(Some(AssembledDoc {
            index: doc,
            document,
            seller_skus,
        }))
    }

    /// After the last operation: every operation laid out was read.
    pub fn finish(&self) -> Result<(), String> {
        if self.next != self.layout.regions.len() {
            return Err(format!(
                "{} operations were read, {} before",
                self.next,
                self.layout.regions.len()
            ));
        }
        Ok(())
    }
}

fn feed_header(header: FeedHeader) -> Value {
    json!({
        "sellerId": header.seller_id,
        "version": FEED_VERSION,
        "issueLocale": header.issue_locale,
    })
}

/// One operation's message: its `messageId` is the operation's id.
fn feed_message(patch_op: PatchOp, op: &Operation) -> Value {
    json!({
        "messageId": op.id,
        "sku": op.seller_sku,
        "operationType": "PATCH",
        "productType": PRODUCT_TYPE,
        "patches": patches(patch_op, op),
    })
}

/// The length of [`feed_message`] serialized compactly.
fn message_len(patch_op: PatchOp, op: &Operation) -> usize {
    feed_message(patch_op, op).to_string().len()
}
