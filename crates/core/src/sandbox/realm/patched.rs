//! What the project's own QuickJS patches add (patches/rquickjs-sys-0.14.0/):
//! rquickjs-sys's pre-generated bindings do not declare it, so it is
//! declared here, against the patched library cargo links.

use std::ffi::{c_int, c_void};

use rquickjs::{Ctx, Value, qjs};

type StackOverflowHandler = unsafe extern "C" fn(*mut qjs::JSRuntime, *mut c_void) -> c_int;

unsafe extern "C" {
    /// Patch 0002: `handler` runs when the stack limit is hit; non-zero
    /// makes the RangeError uncatchable. The interrupt handler, which sees
    /// the overflow recorded, ends the script at its next poll.
    fn JS_SetStackOverflowHandler(
        rt: *mut qjs::JSRuntime,
        handler: Option<StackOverflowHandler>,
        opaque: *mut c_void,
    );
    /// Patch 0008: the next interrupt poll of `ctx` calls the handler.
    /// Callable from another thread while `ctx` runs, never after it is freed.
    fn JS_RequestInterrupt(ctx: *mut qjs::JSContext);
    /// Patch 0010: `JSON.stringify(obj)`, except that a function, symbol
    /// or BigInt anywhere is a TypeError and an object nested deeper than
    /// `max_depth` throws `too_deep`. Returns a new reference.
    fn JS_JSONStringifyStrict(
        ctx: *mut qjs::JSContext,
        obj: qjs::JSValue,
        max_depth: c_int,
        too_deep: qjs::JSValue,
    ) -> qjs::JSValue;
}

/// `host.argsJson(value, maxDepth, tooDeep)` for the prelude: a tool
/// call's arguments as JSON text, with `JSON.stringify`'s semantics (a
/// `toJSON`, getter or proxy runs as script code, under the interrupt
/// handler), refusing what JSON cannot hold instead of dropping it (patch
/// 0010). `undefined` when a `toJSON` leaves nothing.
pub(crate) fn args_json<'js>(
    ctx: Ctx<'js>,
    value: Value<'js>,
    max_depth: i32,
    too_deep: Value<'js>,
) -> rquickjs::Result<Value<'js>> {
    // SAFETY: the context is entered on this thread; the arguments are
    // borrowed for the call, and the result is a new reference whose
    // ownership `from_raw` takes.
    unsafe {
        let out = JS_JSONStringifyStrict(
            ctx.as_raw().as_ptr(),
            value.as_raw(),
            max_depth,
            too_deep.as_raw(),
        );
        if qjs::JS_IsException(out) {
            return Err(rquickjs::Error::Exception);
        }
        Ok(Value::from_raw(ctx, out))
    }
}

/// A realm's raw context, as the watchdog's thread may hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InterruptTarget(std::ptr::NonNull<qjs::JSContext>);

// SAFETY: the pointer is only ever passed to `JS_RequestInterrupt`, which
// is made to be called from another thread; `Watch` guarantees the context
// is alive when it is (see `Watch::request_interrupt`).
unsafe impl Send for InterruptTarget {}

impl InterruptTarget {
    pub(crate) fn new(ctx: std::ptr::NonNull<qjs::JSContext>) -> InterruptTarget {
        InterruptTarget(ctx)
    }

    /// Make the context's next interrupt poll call the handler.
    ///
    /// # Safety
    /// The context must not have been freed, nor be freed during the call.
    pub(crate) unsafe fn request(self) {
        // SAFETY: the caller keeps the context alive; the function only
        // stores to its poll counter.
        unsafe { JS_RequestInterrupt(self.0.as_ptr()) }
    }
}

/// What a realm does when its stack limit is hit: true ends the script.
pub(super) type OnOverflow = Box<dyn Fn() -> bool>;

unsafe extern "C" fn on_stack_overflow(_: *mut qjs::JSRuntime, opaque: *mut c_void) -> c_int {
    // SAFETY: `opaque` is the `OnOverflow` that `set_stack_overflow_handler`
    // was given, which its realm keeps alive as long as the runtime.
    let on_overflow = unsafe { &*opaque.cast::<OnOverflow>() };
    c_int::from(on_overflow())
}

/// Call `on_overflow` whenever `rt` hits its stack limit. `on_overflow`
/// must outlive the runtime (the realm drops it after the runtime).
pub(super) fn set_stack_overflow_handler(rt: *mut qjs::JSRuntime, on_overflow: &OnOverflow) {
    let opaque = std::ptr::from_ref(on_overflow).cast_mut().cast::<c_void>();
    // SAFETY: `rt` is a live runtime used on this thread only, and the
    // handler's state outlives it (see above).
    unsafe { JS_SetStackOverflowHandler(rt, Some(on_stack_overflow), opaque) }
}

/// Whether `value` is an error QuickJS lets no catch block see: the
/// interrupt's, or a stack overflow's that the handler made so.
pub(crate) fn is_uncatchable(value: &Value<'_>) -> bool {
    // SAFETY: reads the class and a flag of a live value; no ownership moves.
    unsafe { qjs::JS_IsUncatchableError(value.as_raw()) }
}
