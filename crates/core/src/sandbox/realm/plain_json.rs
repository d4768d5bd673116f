//! A tool call's arguments as JSON, natively, when they are plain data.
//!
//! The prelude serializes arguments with a `JSON.stringify` replacer that
//! refuses functions, symbols and BigInts and stops at 128 levels: a
//! JavaScript call per value, about a sixth of a tool call's cost in the
//! engine. Most arguments are small trees of plain objects, arrays and
//! primitives, on which that replacer changes nothing. This walk proves a
//! value is such a tree without running any script code (no getter, no
//! proxy trap, no `toJSON`), and then `JS_JSONStringify` without a replacer
//! gives the very text the replacer would have. Anything else, or anything
//! large, and the walk says so: the prelude takes its replacer path, which
//! keeps every error message and check as before.

use rquickjs::{Ctx, Object, Value, qjs};

/// Values past which the walk gives up (the replacer path serializes
/// them): it runs without interrupt polls, so it must stay short.
const MAX_VALUES: usize = 256;
/// QuickJS's class ids of ordinary objects and arrays (the first two of
/// `quickjs.c`'s class enum, which the API does not export; a test checks
/// them against `{}` and `[]`).
const CLASS_OBJECT: u32 = 1;
const CLASS_ARRAY: u32 = 2;
/// Levels past which the walk gives up (the replacer path gives the
/// nesting error; this stays far below it).
const MAX_DEPTH: usize = 32;

/// `value` as JSON text when it is plain data, else `undefined`.
pub(super) fn plain_json<'js>(ctx: Ctx<'js>, value: Value<'js>) -> rquickjs::Result<Value<'js>> {
    if !is_plain(&ctx, &value)? {
        return Ok(Value::new_undefined(ctx));
    }
    // No replacer: nothing in a plain tree runs script code.
    match ctx.json_stringify(value)? {
        Some(json) => Ok(json.into_value()),
        None => Ok(Value::new_undefined(ctx)),
    }
}

/// Whether `value` is a tree of primitives (no symbol, no BigInt), plain
/// objects whose prototype is `Object.prototype` or `null`, and arrays
/// whose prototype is `Array.prototype`, all enumerable string-keyed
/// properties data properties, within the walk's bounds.
fn is_plain<'js>(ctx: &Ctx<'js>, root: &Value<'js>) -> rquickjs::Result<bool> {
    if !root.is_object() {
        return Ok(false);
    }
    // The intrinsic prototypes, as a fresh object and array see them (the
    // realm's are frozen: a script cannot swap them).
    let object_proto = Object::new(ctx.clone())?.get_prototype();
    let array_proto = rquickjs::Array::new(ctx.clone())?
        .into_object()
        .get_prototype();
    let (Some(object_proto), Some(array_proto)) = (object_proto, array_proto) else {
        return Ok(false);
    };
    let raw = ctx.as_raw().as_ptr();
    let mut seen = 0usize;
    let mut stack: Vec<(Value<'js>, usize)> = vec![(root.clone(), 1)];
    while let Some((v, depth)) = stack.pop() {
        seen += 1;
        if seen > MAX_VALUES || depth > MAX_DEPTH {
            return Ok(false);
        }
        if v.is_null()
            || v.is_undefined()
            || v.is_bool()
            || v.is_int()
            || v.is_float()
            || v.is_string()
        {
            continue;
        }
        let Some(obj) = v.as_object() else {
            // A symbol, a BigInt, anything else: the replacer's business.
            return Ok(false);
        };
        // SAFETY: reads the class id of a live object.
        let class = unsafe { qjs::JS_GetClassID(v.as_raw()) };
        let proto = obj.get_prototype();
        let plain = match class {
            CLASS_OBJECT => proto.is_none_or(|p| p == object_proto),
            CLASS_ARRAY => proto.is_some_and(|p| p == array_proto),
            _ => false,
        };
        if !plain {
            return Ok(false);
        }
        // SAFETY: as in freeze.rs: every value taken from a descriptor is
        // a new reference, wrapped at once (freed by rquickjs) or freed
        // here; the property table is freed once. Plain objects and
        // arrays run no script code when their own properties are read.
        unsafe {
            let mut tab: *mut qjs::JSPropertyEnum = std::ptr::null_mut();
            let mut len: u32 = 0;
            let flags = (qjs::JS_GPN_STRING_MASK | qjs::JS_GPN_ENUM_ONLY) as i32;
            if qjs::JS_GetOwnPropertyNames(raw, &mut tab, &mut len, v.as_raw(), flags) != 0 {
                return Err(rquickjs::Error::Exception);
            }
            let mut accessor = false;
            for i in 0..len as usize {
                let atom = (*tab.add(i)).atom;
                let mut desc = std::mem::MaybeUninit::<qjs::JSPropertyDescriptor>::uninit();
                match qjs::JS_GetOwnProperty(raw, desc.as_mut_ptr(), v.as_raw(), atom) {
                    r if r > 0 => {
                        let d = desc.assume_init();
                        let value = Value::from_raw(ctx.clone(), d.value);
                        qjs::JS_FreeValue(raw, d.getter);
                        qjs::JS_FreeValue(raw, d.setter);
                        if d.flags & qjs::JS_PROP_GETSET as i32 != 0 {
                            accessor = true;
                        } else if stack.len() < MAX_VALUES {
                            stack.push((value, depth + 1));
                        } else {
                            accessor = true;
                        }
                    }
                    0 => {}
                    _ => {
                        qjs::JS_FreePropertyEnum(raw, tab, len);
                        return Err(rquickjs::Error::Exception);
                    }
                }
                if accessor {
                    break;
                }
            }
            qjs::JS_FreePropertyEnum(raw, tab, len);
            if accessor {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use rquickjs::{Context, Function, Runtime};

    use super::*;

    /// What the walk gives for each value, next to what the prelude's
    /// replacer path gives (`JSON.stringify` with a replacer that returns
    /// every value unchanged, where it does not throw).
    #[test]
    fn plain_data_is_what_the_replacer_gives_and_anything_else_is_left_to_it() {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let ids: Vec<Value> = ctx.eval("[{}, [], Object.create(null)]").unwrap();
            // SAFETY: class ids of live values.
            let ids: Vec<u32> = ids.iter().map(|v| unsafe { qjs::JS_GetClassID(v.as_raw()) }).collect();
            assert_eq!(ids, [CLASS_OBJECT, CLASS_ARRAY, CLASS_OBJECT]);
            let f = Function::new(ctx.clone(), plain_json).unwrap();
            ctx.globals().set("plainJson", f).unwrap();
            let plain: Vec<String> = ctx
                .eval(
                    r#"[
                    { v: 1 }, { a: 'x', b: [1, 2.5, null, true, { c: -0 }], d: undefined, e: NaN },
                    [1, , 3], Object.assign(Object.create(null), { n: 1 }), { toJSON: 5 },
                    { '\u2028': 'é\ud800' }, (() => { const o = {}; Object.defineProperty(o, 'hidden', { get() { throw 1 }, enumerable: false }); o.x = 1; return o })(),
                  ].map((v) => [plainJson(v), JSON.stringify(v, (k, x) => x)]).map(([a, b]) => a === b ? 'same' : a + ' vs ' + b)"#,
                )
                .unwrap();
            assert!(plain.iter().all(|s| s == "same"), "{plain:?}");
            let left: Vec<bool> = ctx
                .eval(
                    r#"[
                    1, 'x', null, undefined, () => 1, { f() {} }, { s: Symbol() }, { b: 1n }, [Symbol()],
                    { get g() { return 1 } }, new Proxy({}, {}), { p: new Proxy([], {}) }, new Date(0), new Map(),
                    Object.create({ toJSON() { return 1 } }), { toJSON() { return 1 } }, new (class X {})(),
                    (() => { const a = [1]; Object.setPrototypeOf(a, null); return a })(),
                    (() => { let o = {}; for (let i = 0; i < 40; i++) o = { o }; return o })(),
                    Array.from({ length: 300 }, (_, i) => i),
                    (function () { return arguments })(1),
                  ].map((v) => plainJson(v) === undefined)"#,
                )
                .unwrap();
            assert!(left.iter().all(|b| *b), "{left:?}");
        });
    }
}
