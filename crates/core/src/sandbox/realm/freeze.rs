//! Freezing every object reachable from a set of roots, natively.
//!
//! The same walk written in JavaScript (own keys, descriptors, prototypes)
//! costs about 3.7 ms per realm in QuickJS, most of it allocating descriptor
//! objects; here it is a loop over the C API. It runs once per realm,
//! before any script code, from the trusted prelude.

use std::collections::HashSet;

use rquickjs::{Array, Ctx, Value, qjs};

/// Freeze `roots` and everything reachable from them through properties
/// (values, getters, setters) and prototypes.
///
/// Objects are recognised by identity, never by state: an object that is
/// already non-extensible (or shallow-frozen) is still frozen and walked,
/// because a realm serves many scripts and a mutable child of a
/// non-extensible parent would carry one script's writes to the next.
pub(crate) fn freeze_reachable<'js>(ctx: Ctx<'js>, roots: Array<'js>) -> rquickjs::Result<()> {
    walk(&ctx, roots.iter::<Value>(), true)
}

/// Freeze `root` and everything reachable from it through its own
/// properties, not prototypes: for the values the prelude builds for one
/// script (its `context` from JSON, its `console`), whose prototypes are
/// intrinsics the realm froze when it was built. In JavaScript the same
/// walk cost about 30 µs per script, most of it descriptor objects.
pub(crate) fn freeze_own<'js>(ctx: Ctx<'js>, root: Value<'js>) -> rquickjs::Result<Value<'js>> {
    walk(&ctx, std::iter::once(Ok(root.clone())), false)?;
    Ok(root)
}

fn walk<'js>(
    ctx: &Ctx<'js>,
    roots: impl Iterator<Item = rquickjs::Result<Value<'js>>>,
    prototypes: bool,
) -> rquickjs::Result<()> {
    let raw = ctx.as_raw().as_ptr();
    let mut seen: HashSet<usize> = HashSet::with_capacity(if prototypes { 4096 } else { 64 });
    // SAFETY: every JSValue on `stack` holds its own reference (dup'd, or
    // returned as a new reference by the C API) and is freed exactly once;
    // all calls happen on this context's thread while it is entered. An
    // object's address identifies it for the whole walk: everything seen
    // stays reachable from the roots, so none is freed and reused meanwhile.
    unsafe {
        let mut stack: Vec<qjs::JSValue> = Vec::with_capacity(256);
        for v in roots {
            stack.push(qjs::JS_DupValue(raw, v?.as_raw()));
        }
        let mut failed = false;
        while let Some(v) = stack.pop() {
            if failed || !qjs::JS_IsObject(v) || !seen.insert(qjs::JS_VALUE_GET_PTR(v) as usize) {
                qjs::JS_FreeValue(raw, v);
                continue;
            }
            if qjs::JS_FreezeObject(raw, v) < 0 {
                failed = true;
                qjs::JS_FreeValue(raw, v);
                continue;
            }
            if prototypes {
                stack.push(qjs::JS_GetPrototype(raw, v));
            }
            let mut tab: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
            let mut len: u32 = 0;
            let flags = (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_SYMBOL_MASK) as i32;
            if qjs::JS_GetOwnPropertyNames(raw, &mut tab, &mut len, v, flags) == 0 {
                for i in 0..len as usize {
                    let atom = (*tab.add(i)).atom;
                    let mut desc = std::mem::MaybeUninit::<qjs::JSPropertyDescriptor>::uninit();
                    if qjs::JS_GetOwnProperty(raw, desc.as_mut_ptr(), v, atom) > 0 {
                        let d = desc.assume_init();
                        stack.push(d.value);
                        stack.push(d.getter);
                        stack.push(d.setter);
                    }
                }
                qjs::JS_FreePropertyEnum(raw, tab, len);
            } else {
                failed = true;
            }
            qjs::JS_FreeValue(raw, v);
        }
        if failed {
            return Err(rquickjs::Error::Exception);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rquickjs::{Context, Runtime};

    use super::*;

    #[test]
    fn a_non_extensible_parent_does_not_hide_a_mutable_child() {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let roots: Array = ctx
                .eval("const child = { x: 1 }; const parent = Object.freeze({ child, get g() { return 1 } }); [parent]")
                .unwrap();
            freeze_reachable(ctx.clone(), roots).unwrap();
            let frozen: bool = ctx
                .eval("Object.isFrozen(child) && Object.isFrozen(Object.getOwnPropertyDescriptor(parent, 'g').get)")
                .unwrap();
            assert!(frozen);
        });
    }

    #[test]
    fn freezing_own_properties_leaves_prototypes_alone() {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let root: Value = ctx.eval("({ a: { b: [1] } })").unwrap();
            let root = freeze_own(ctx.clone(), root).unwrap();
            let obj = root.as_object().unwrap().clone();
            ctx.globals().set("root", obj).unwrap();
            let deep: bool = ctx.eval("Object.isFrozen(root.a.b)").unwrap();
            let proto: bool = ctx.eval("Object.isFrozen(Object.prototype)").unwrap();
            assert!(deep);
            assert!(!proto);
        });
    }
}
