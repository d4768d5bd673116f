//! QuickJS bytecode: the prelude's, compiled once per process, and each
//! script's, compiled the first time a realm runs it.
//!
//! Parsing the prelude's source costs about 585 µs per realm; reading its
//! bytecode costs a fraction of that. A script's wrapped code costs tens of
//! microseconds to parse and a few to read back, which counts when a
//! harness runs a script again (a retry, a repeated turn). Bytecode is only
//! ever produced here, from our own prelude or from code the harness's own
//! compiler checked and wrapped, and read back by the same QuickJS build;
//! no bytecode from outside is ever read.

use std::ffi::CString;
use std::sync::OnceLock;

use rquickjs::{Context, Ctx, Runtime, Value, qjs};

/// Compile `source` (a global script whose value is the result) in
/// `ctx` to bytecode. `Err(Exception)` leaves the syntax error pending.
pub(crate) fn compile_in(
    ctx: &Ctx<'_>,
    source: &str,
    filename: &str,
    extra_flags: u32,
) -> rquickjs::Result<Vec<u8>> {
    let raw = ctx.as_raw().as_ptr();
    let src = CString::new(source)?;
    let name = CString::new(filename)?;
    let flags = (qjs::JS_EVAL_TYPE_GLOBAL
        | qjs::JS_EVAL_FLAG_STRICT
        | qjs::JS_EVAL_FLAG_COMPILE_ONLY
        | extra_flags) as i32;
    // SAFETY: `src` is NUL-terminated as JS_Eval requires; every value and
    // buffer obtained here is freed before returning.
    unsafe {
        let func = qjs::JS_Eval(raw, src.as_ptr(), source.len() as _, name.as_ptr(), flags);
        if qjs::JS_IsException(func) {
            return Err(rquickjs::Error::Exception);
        }
        let mut size: qjs::size_t = 0;
        let buf = qjs::JS_WriteObject(raw, &mut size, func, qjs::JS_WRITE_OBJ_BYTECODE as i32);
        qjs::JS_FreeValue(raw, func);
        if buf.is_null() {
            return Err(rquickjs::Error::Exception);
        }
        let bytes = std::slice::from_raw_parts(buf, size as usize).to_vec();
        qjs::js_free(raw, buf.cast());
        Ok(bytes)
    }
}

/// Compile the prelude in a runtime of its own.
fn compile(source: &str, filename: &str) -> Option<Vec<u8>> {
    let runtime = Runtime::new().ok()?;
    let context = Context::full(&runtime).ok()?;
    context.with(|ctx| {
        let bytes = compile_in(&ctx, source, filename, 0);
        if bytes.is_err() {
            let _ = ctx.catch();
        }
        bytes.ok()
    })
}

pub(crate) fn prelude(source: &'static str) -> Option<&'static [u8]> {
    static PRELUDE: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    PRELUDE
        .get_or_init(|| compile(source, "harness"))
        .as_deref()
}

/// Run bytecode made by [`prelude`] or [`compile_in`] in `ctx` and return
/// its value.
pub(crate) fn run<'js>(ctx: &Ctx<'js>, bytes: &[u8]) -> rquickjs::Result<Value<'js>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: the bytes come from JS_WriteObject of this same QuickJS build;
    // JS_EvalFunction takes ownership of the function object it is given,
    // and the result is handed to rquickjs, which owns it from then on.
    unsafe {
        let func = qjs::JS_ReadObject(
            raw,
            bytes.as_ptr(),
            bytes.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        );
        if qjs::JS_IsException(func) {
            return Err(rquickjs::Error::Exception);
        }
        let value = qjs::JS_EvalFunction(raw, func);
        if qjs::JS_IsException(value) {
            return Err(rquickjs::Error::Exception);
        }
        Ok(Value::from_raw(ctx.clone(), value))
    }
}
